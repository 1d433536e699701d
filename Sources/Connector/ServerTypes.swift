// This file imports WebSocketServer alone, so `HTTPResponse` here is the server's type (the
// Lex module has a response type of the same name).
import WebSocketServer

public typealias ServerResponse = HTTPResponse

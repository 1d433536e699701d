// The HTTP vocabulary (HTTPFields, HTTPStatus, HTTPResponse) and Instant come from CoreTypes,
// shared with the Lex client and the stand-in; a user of this module gets them with it.
@_exported import CoreTypes

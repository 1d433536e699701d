// The shared vocabulary (HTTPFields, HTTPStatus, HTTPResponse, Instant) comes from CoreTypes;
// a user of this module gets it with it.
@_exported import CoreTypes

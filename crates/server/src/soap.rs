//! The SOAP partner API's `login` (`POST /services/Soap/u/{version}`, `SOAPAction: login`): the
//! `loginResponse` stock clients parse, and `INVALID_LOGIN` as a SOAP fault. The session id it
//! answers is an access token with the `api`, `web` and `full` scopes, good on the REST API.
//! (Skeleton: the login helper fills it.)

use axum::Router;

use crate::oauth::OAuthState;

pub fn router(_state: OAuthState) -> Router {
    Router::new()
}

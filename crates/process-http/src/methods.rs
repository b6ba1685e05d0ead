//! What each path answers to. `HEAD` is answered by the `GET` of the same path, with its status
//! and headers and no body; a method a path does not have is a 405 with `Allow`; an unknown
//! path is a 404. Which methods a path has comes from the OpenAPI document, itself generated
//! from the handlers' annotations, so there is no second list to keep.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ResourceDef, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use utoipa::OpenApi;

use crate::error::ApiError;
use crate::openapi::ApiDoc;

/// The methods of every documented path.
pub struct MethodTable(Vec<(ResourceDef, Vec<Method>)>);

impl MethodTable {
    /// Reads the paths and operations of `doc`; a path with `GET` also has `HEAD`, and every
    /// path has `OPTIONS`.
    pub fn from_doc(doc: &utoipa::openapi::OpenApi) -> Self {
        let table = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let mut methods = Vec::new();
                for (op, method) in [
                    (&item.get, Method::GET),
                    (&item.get, Method::HEAD),
                    (&item.post, Method::POST),
                    (&item.put, Method::PUT),
                    (&item.patch, Method::PATCH),
                    (&item.delete, Method::DELETE),
                ] {
                    if op.is_some() {
                        methods.push(method);
                    }
                }
                methods.push(Method::OPTIONS);
                // OpenAPI templates (`/processes/{id}`) are also actix patterns.
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        Self(table)
    }

    /// The methods `path` answers to, in a stable order; `None` when no route has this path.
    pub fn allowed(&self, path: &str) -> Option<Vec<Method>> {
        let mut all: Vec<Method> = Vec::new();
        for (def, methods) in &self.0 {
            if def.is_match(path) {
                for m in methods {
                    if !all.contains(m) {
                        all.push(m.clone());
                    }
                }
            }
        }
        let rank = |m: &Method| {
            [
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
                Method::OPTIONS,
            ]
            .iter()
            .position(|k| k == m)
        };
        all.sort_by_key(rank);
        (!all.is_empty()).then_some(all)
    }
}

/// The table of this binary's API, built once.
pub fn table() -> &'static MethodTable {
    static TABLE: OnceLock<MethodTable> = OnceLock::new();
    TABLE.get_or_init(|| MethodTable::from_doc(&ApiDoc::openapi()))
}

/// Marks a request that came in as `HEAD` and is routed as the `GET` it mirrors.
#[derive(Clone, Copy)]
struct Head;

/// Before routing: a `HEAD` becomes the `GET` it asks about. Returns whether it was one, so
/// the answer can lose its body (`without_body`).
pub fn head_as_get(req: &mut ServiceRequest) -> bool {
    if req.method() != Method::HEAD {
        return false;
    }
    req.head_mut().method = Method::GET;
    req.extensions_mut().insert(Head);
    true
}

/// The answer to a `HEAD`: the `GET`'s status and headers, with a body that reports the GET's
/// size (so `Content-Length` is the GET's) and yields nothing. The GET's body is dropped
/// unread: a download, an archive or a live feed does no work for it.
pub fn without_body<B: MessageBody + 'static>(res: ServiceResponse<B>) -> ServiceResponse<BoxBody> {
    res.map_body(|_, body| BoxBody::new(Bodiless(body.size())))
}

struct Bodiless(BodySize);

impl MessageBody for Bodiless {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        self.0
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(None)
    }
}

/// What routing could not match: 405 with `Allow` for a method the path does not have, 204
/// with `Allow` for `OPTIONS` (a CORS preflight is answered before this), 404 for an unknown
/// path.
pub async fn fallback(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let Some(allowed) = table().allowed(req.path()) else {
        return Ok(HttpResponse::NotFound().finish());
    };
    let allow = allowed
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let method = if req.extensions().contains::<Head>() {
        Method::HEAD
    } else {
        req.method().clone()
    };
    if method == Method::OPTIONS {
        return Ok(HttpResponse::NoContent()
            .insert_header((header::ALLOW, allow))
            .finish());
    }
    if allowed.contains(&method) {
        // The document and the routes disagree about this path: say nothing is here rather
        // than that the method is not allowed.
        return Ok(HttpResponse::NotFound().finish());
    }
    Err(ApiError::MethodNotAllowed { method, allow })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(path: &str) -> Option<String> {
        table()
            .allowed(path)
            .map(|m| m.iter().map(Method::as_str).collect::<Vec<_>>().join(", "))
    }

    #[test]
    fn methods_come_from_the_document() {
        assert_eq!(allowed("/api").as_deref(), Some("GET, HEAD, OPTIONS"));
        assert_eq!(
            allowed("/api/system/processes/7").as_deref(),
            Some("GET, HEAD, DELETE, OPTIONS")
        );
        assert_eq!(
            allowed("/api/system/processes/7/stop").as_deref(),
            Some("POST, OPTIONS")
        );
        assert_eq!(
            allowed("/api/system/scripts/echo/processes").as_deref(),
            Some("POST, OPTIONS")
        );
        assert_eq!(allowed("/api/nothing"), None);
        assert_eq!(allowed("/api/system/processes/7/"), None);
    }
}

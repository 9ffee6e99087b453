//! Request bodies, read leniently: JSON whatever the `Content-Type` says (and on GET and DELETE,
//! where the spec puts one), multipart parts in any order and of any transfer encoding (multer
//! does the parsing), and a JSON body accepted in place of a multipart one. What is read is
//! checked for what can hurt: size (10008 for files over 25 MB), emptiness (10100), malformed
//! JSON (10089), NUL characters the database cannot store (10089).

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, StatusCode};
use byoc_core::interaction::{contains_nul, ApiError, FileFacts, MAX_ATTACHMENT_BYTES};
use serde_json::Value;

/// Parse a JSON body; `query` (the URL's query string) stands in for an empty body, so a GET
/// from a client that cannot send a body still works.
pub fn json_value(bytes: &[u8], query: Option<&str>) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return match query.filter(|q| !q.is_empty()) {
            Some(q) => Ok(query_value(q)),
            None => Err(ApiError::new(10100)),
        };
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|_| ApiError::new(10089))?;
    if contains_nul(&value) {
        return Err(ApiError::new(10089));
    }
    Ok(value)
}

/// `a=1&b=x` as a JSON object; integers become numbers.
fn query_value(q: &str) -> Value {
    let mut map = serde_json::Map::new();
    for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
        if k.contains('\0') || v.contains('\0') {
            continue;
        }
        let value = match v.parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => Value::String(v.into_owned()),
        };
        map.insert(k.into_owned(), value);
    }
    Value::Object(map)
}

/// Read a whole body (within the route's limit) as JSON.
pub async fn read_json(req: Request) -> Result<Value, ApiError> {
    let query = req.uri().query().map(str::to_string);
    let bytes = read_bytes(req.into_body()).await?;
    json_value(&bytes, query.as_deref())
}

/// The largest JSON body read (the `json` part of a multipart request has its own, the route's).
pub const MAX_JSON_BODY: usize = 1024 * 1024;

async fn read_bytes(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_JSON_BODY)
        .await
        .map_err(|_| ApiError::new(10089))
}

/// An uploaded file.
pub struct Upload {
    pub facts: FileFacts,
    pub content: Vec<u8>,
}

/// The JSON part named `json_part` and the files of a multipart request. A request that is not
/// multipart is read as the JSON part alone.
pub async fn read_multipart(
    req: Request,
    json_part: &str,
) -> Result<(Value, Vec<Upload>), ApiError> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/")
        });
    if !is_multipart {
        return Ok((read_json(req).await?, Vec::new()));
    }
    let mut multipart = Multipart::from_request(req, &())
        .await
        .map_err(|_| ApiError::new(10089))?;
    let mut json: Option<Value> = None;
    let mut files = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(multipart_error(e.status())),
        };
        let name = field.name().unwrap_or("").to_string();
        if name.eq_ignore_ascii_case(json_part) && json.is_none() {
            let bytes = field
                .bytes()
                .await
                .map_err(|e| multipart_error(e.status()))?;
            json = Some(json_value(&bytes, None)?);
            continue;
        }
        let file_name = field.file_name().map(str::to_string);
        let declared = field.content_type().map(str::to_string);
        let mut field = field;
        let mut content: Vec<u8> = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if (content.len() + chunk.len()) as u64 > MAX_ATTACHMENT_BYTES {
                        return Err(ApiError::new(10008));
                    }
                    content.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(multipart_error(e.status())),
            }
        }
        // Only the spec's `attachments` parts are files; other parts are ignored.
        if name.eq_ignore_ascii_case("attachments") || name.eq_ignore_ascii_case("attachments[]") {
            let mime_type = mime_type(declared.as_deref(), file_name.as_deref());
            files.push(Upload {
                facts: FileFacts {
                    size: content.len() as u64,
                    file_name,
                    mime_type,
                },
                content,
            });
        }
    }
    let json = json.ok_or_else(|| ApiError::new(10100))?;
    Ok((json, files))
}

fn multipart_error(status: StatusCode) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(10008)
    } else {
        ApiError::new(10089)
    }
}

/// The part's declared type, or one guessed from the file name's extension.
fn mime_type(declared: Option<&str>, file_name: Option<&str>) -> String {
    if let Some(d) = declared
        .map(str::trim)
        .filter(|d| !d.is_empty() && d.contains('/'))
    {
        return d.to_string();
    }
    let ext = file_name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _ => "application/octet-stream",
    }
    .to_string()
}

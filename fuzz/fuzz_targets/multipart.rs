//! The Interaction API's request body reader (`byoc_server::scrt::body::read_multipart`, multer
//! underneath): any body, under a multipart or a JSON content type, is read or refused with an
//! Interaction API code, never a panic.
//!
//! Input: the first line is the `Content-Type` (empty: `multipart/form-data; boundary=b`), the
//! rest is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (content_type, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b""[..], data),
    };
    let content_type = if content_type.is_empty() {
        &b"multipart/form-data; boundary=b"[..]
    } else {
        content_type
    };
    let Ok(request) = axum::http::Request::builder()
        .method("POST")
        .uri("/api/v1/interactions")
        .header("content-type", content_type)
        .body(axum::body::Body::from(body.to_vec()))
    else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    if let Ok((_json, files)) =
        runtime.block_on(byoc_server::scrt::body::read_multipart(request, "json"))
    {
        for f in files {
            assert_eq!(f.facts.size, f.content.len() as u64);
        }
    }
});

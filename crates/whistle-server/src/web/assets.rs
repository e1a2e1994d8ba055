//! The pages' static files, embedded in the binary: the vendored htmx (see
//! `assets/vendor/VENDOR.md`), the style sheet and the small script of keys. Each is served
//! under a name carrying the first 12 hex digits of its sha256, with a year's immutable cache:
//! a new build that changes a file changes its name, so no browser keeps a stale copy.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// One embedded file.
pub struct Asset {
    /// The name pages use (`htmx.js`), to look the hashed name up.
    pub logical: &'static str,
    pub bytes: &'static [u8],
    pub content_type: &'static str,
    /// `htmx-2.0.11.min.3f1c…js`: the name it is served under.
    pub served: String,
    pub sha256: String,
}

const FILES: [(&str, &[u8], &str); 3] = [
    (
        "htmx.js",
        include_bytes!("../../assets/vendor/htmx-2.0.11.min.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "whistle.css",
        include_bytes!("../../assets/whistle.css"),
        "text/css; charset=utf-8",
    ),
    (
        "whistle.js",
        include_bytes!("../../assets/whistle.js"),
        "text/javascript; charset=utf-8",
    ),
];

/// Every embedded file, hashed once.
pub fn all() -> &'static [Asset] {
    static ASSETS: OnceLock<Vec<Asset>> = OnceLock::new();
    ASSETS.get_or_init(|| {
        FILES
            .iter()
            .map(|(logical, bytes, content_type)| {
                let sha256 = hex::encode(Sha256::digest(bytes));
                let (stem, extension) = logical.rsplit_once('.').unwrap_or((logical, ""));
                Asset {
                    logical,
                    bytes,
                    content_type,
                    served: format!("{stem}.{}.{extension}", &sha256[..12]),
                    sha256,
                }
            })
            .collect()
    })
}

/// The URL of an embedded file by its logical name (`/assets/htmx.3f1c….js`).
pub fn url(logical: &str) -> String {
    all()
        .iter()
        .find(|a| a.logical == logical)
        .map(|a| format!("/assets/{}", a.served))
        .unwrap_or_default()
}

/// `GET /assets/{file}`: an embedded file by its hashed name.
pub async fn serve(Path(file): Path<String>) -> Response {
    let Some(asset) = all().iter().find(|a| a.served == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        asset.bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vendored files are what VENDOR.md says they are.
    #[test]
    fn vendored_files_match_their_recorded_checksums() {
        let table = include_str!("../../assets/vendor/VENDOR.md");
        let htmx = all().iter().find(|a| a.logical == "htmx.js").unwrap();
        assert!(
            table.contains(&format!("`{}`", htmx.sha256)),
            "htmx's sha256 {} is not in VENDOR.md",
            htmx.sha256
        );
        assert!(url("htmx.js").starts_with("/assets/htmx."));
        assert_eq!(url("nothing.js"), "");
    }
}

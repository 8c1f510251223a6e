//! The web faces of paicha, served by `paicha serve` itself: the office console at `/` and
//! the field app at `/field/` (an installable offline app: a manifest, and a service worker at
//! `/field/sw.js` that keeps the app's files, listed here at start-up, for use with no network). One small core (`assets/core/`: sign-in, tokens, the API
//! client, Chinese messages) and two faces on it. Plain JavaScript modules, no build step:
//!
//! - Every file under `assets/` is embedded in the binary and served under `/assets/`, both at
//!   its plain path (`Cache-Control: no-cache`) and at a content-hashed name
//!   (`core/api.3f2a1b9c0d.js`, cached for a year, `immutable`).
//! - A page (`console/index.html`) is a template: `{{importmap}}` becomes an import map that
//!   sends every module's plain URL (and the bare names `preact`, `preact/hooks`, `htm`) to its
//!   hashed URL, so modules import each other by their plain relative paths and the browser
//!   still fetches only hashed, cacheable files; `{{asset:PATH}}` becomes PATH's hashed URL.
//!   Pages themselves are `no-cache`, so a new binary's assets are picked up at once.
//! - Bodies are gzip-compressed once at start-up and sent compressed to clients that accept it.
//! - Pages carry a Content-Security-Policy that allows this origin only: no request of the page
//!   can leave for another host.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use sha2::{Digest, Sha256};

#[derive(rust_embed::Embed)]
#[folder = "assets/"]
struct Files;

/// One file as served.
struct Asset {
    body: Arc<[u8]>,
    gzip: Option<Arc<[u8]>>,
    content_type: &'static str,
    etag: String,
}

/// Every asset, by the path it is served at (below `/assets/`), and each plain path's hashed
/// name.
struct Assets {
    files: HashMap<String, (Asset, bool)>,
    hashed: HashMap<String, String>,
    pages: HashMap<&'static str, (Asset, String)>,
    /// The field app's service worker, made from its template with the list of files to keep.
    service_worker: Option<Asset>,
}

/// The pages: where each is served, and its template under `assets/`.
const PAGES: [(&str, &str); 2] = [("/", "console/index.html"), ("/field/", "field/index.html")];

/// The field app's service worker template, served at `/field/sw.js` (its scope is `/field/`).
const SERVICE_WORKER: &str = "field/sw.js";

/// Bare module names the pages may import, and the files they stand for.
const BARE_MODULES: [(&str, &str); 3] = [
    ("preact", "vendor/preact-10.29.8/preact.module.js"),
    ("preact/hooks", "vendor/preact-10.29.8/hooks.module.js"),
    ("htm", "vendor/htm-3.1.1/htm.module.js"),
];

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn gzip(data: &[u8]) -> Option<Arc<[u8]>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).ok()?;
    let compressed = encoder.finish().ok()?;
    // Only worth it when it saves something.
    (compressed.len() + 64 < data.len()).then(|| compressed.into())
}

fn asset(path: &str, data: Vec<u8>) -> Asset {
    let digest = Sha256::digest(&data);
    Asset {
        gzip: gzip(&data),
        content_type: content_type(path),
        etag: format!("\"{}\"", &hex(&digest)[..20]),
        body: data.into(),
    }
}

/// `dir/name.ext` → `dir/name.HASH.ext`.
fn hashed_name(path: &str, hash: &str) -> String {
    let (dir, file) = path.rsplit_once('/').map_or(("", path), |(d, f)| (d, f));
    let named = match file.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem}.{hash}.{ext}"),
        _ => format!("{file}.{hash}"),
    };
    if dir.is_empty() {
        named
    } else {
        format!("{dir}/{named}")
    }
}

impl Assets {
    fn load() -> Self {
        let mut files = HashMap::new();
        let mut hashed = HashMap::new();
        for path in Files::iter() {
            let Some(file) = Files::get(&path) else {
                continue;
            };
            let data = file.data.into_owned();
            let hash = hex(&Sha256::digest(&data))[..10].to_owned();
            let name = hashed_name(&path, &hash);
            files.insert(name.clone(), (asset(&path, data.clone()), true));
            files.insert(path.to_string(), (asset(&path, data), false));
            hashed.insert(path.to_string(), name);
        }
        let mut assets = Self {
            files,
            hashed,
            pages: HashMap::new(),
            service_worker: None,
        };
        for (route, template) in PAGES {
            if let Some(page) = assets.page(template) {
                assets.pages.insert(route, page);
            }
        }
        assets.service_worker = assets.service_worker();
        assets
    }

    /// What the field app needs to open with no network: its page and every file it loads
    /// (its own, the core's, Preact and htm), at their hashed URLs.
    fn field_shell(&self) -> Vec<String> {
        let mut urls: Vec<String> = self
            .hashed
            .keys()
            .filter(|p| {
                (p.starts_with("field/")
                    || p.starts_with("core/")
                    || p.starts_with("vendor/preact")
                    || p.starts_with("vendor/htm"))
                    && *p != SERVICE_WORKER
                    && !p.ends_with(".md")
                    && !p.contains("LICENSE")
            })
            .map(|p| self.url(p))
            .collect();
        urls.sort();
        // The page, and the files it names by their plain URLs (the manifest and its icon).
        urls.splice(
            0..0,
            [
                "/field/".to_owned(),
                "/assets/field/manifest.webmanifest".to_owned(),
                "/assets/core/icon.svg".to_owned(),
            ],
        );
        urls
    }

    /// The service worker: its template with the shell's URLs and a version that changes with
    /// them, so a new binary's worker replaces the old cache.
    fn service_worker(&self) -> Option<Asset> {
        let text = String::from_utf8(Files::get(SERVICE_WORKER)?.data.into_owned()).ok()?;
        let shell = self.field_shell();
        let list: Vec<String> = shell.iter().map(|u| json_string(u)).collect();
        let version = hex(&Sha256::digest(list.join(",").as_bytes()))[..12].to_owned();
        let js = text
            .replace("\"{{version}}\"", &json_string(&version))
            .replace("[/*{{shell}}*/]", &format!("[{}]", list.join(",")));
        Some(asset(SERVICE_WORKER, js.into_bytes()))
    }

    fn url(&self, path: &str) -> String {
        format!(
            "/assets/{}",
            self.hashed.get(path).map(String::as_str).unwrap_or(path)
        )
    }

    /// A page from its template, and the CSP hash of its import map.
    fn page(&self, template: &str) -> Option<(Asset, String)> {
        let text = String::from_utf8(Files::get(template)?.data.into_owned()).ok()?;
        let mut imports: Vec<(String, String)> = Vec::new();
        for (bare, path) in BARE_MODULES {
            imports.push((bare.to_owned(), self.url(path)));
        }
        let mut modules: Vec<&String> = self
            .hashed
            .keys()
            .filter(|p| p.ends_with(".js") && !p.starts_with("vendor/echarts"))
            .collect();
        modules.sort();
        for path in modules {
            imports.push((format!("/assets/{path}"), self.url(path)));
        }
        let entries: Vec<String> = imports
            .iter()
            .map(|(k, v)| format!("{}:{}", json_string(k), json_string(v)))
            .collect();
        let map = format!("{{\"imports\":{{{}}}}}", entries.join(","));
        let csp_hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&map));
        let mut html = text.replace(
            "{{importmap}}",
            &format!("<script type=\"importmap\">{map}</script>"),
        );
        while let Some(start) = html.find("{{asset:") {
            let Some(len) = html[start..].find("}}") else {
                break;
            };
            let path = html[start + 8..start + len].to_owned();
            html.replace_range(start..start + len + 2, &self.url(&path));
        }
        Some((asset(template, html.into_bytes()), csp_hash))
    }
}

/// A JSON string literal (the paths here are plain ASCII, but escape what JSON requires).
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '<' => out.push_str("\\u003c"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

static ASSETS: LazyLock<Assets> = LazyLock::new(Assets::load);

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|e| {
            let mut parts = e.trim().split(';');
            parts.next() == Some("gzip") && !parts.any(|p| p.trim() == "q=0")
        })
}

fn respond(
    asset: &Asset,
    headers: &HeaderMap,
    cache: &'static str,
    csp: Option<String>,
) -> Response {
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == asset.etag));
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        match (&asset.gzip, accepts_gzip(headers)) {
            (Some(gz), true) => {
                let mut r = Body::from(gz.to_vec()).into_response();
                r.headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                r
            }
            _ => Body::from(asset.body.to_vec()).into_response(),
        }
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(etag) = HeaderValue::from_str(&asset.etag) {
        h.insert(header::ETAG, etag);
    }
    if let Some(csp) = csp.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
    }
    response
}

async fn page(route: &'static str, headers: HeaderMap) -> Response {
    match ASSETS.pages.get(route) {
        Some((asset, import_map_hash)) => {
            let csp = format!(
                "default-src 'self'; script-src 'self' 'sha256-{import_map_hash}'; \
                 style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
                 connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
                 frame-ancestors 'none'; form-action 'self'"
            );
            respond(asset, &headers, "no-cache", Some(csp))
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.files.get(&path) {
        Some((asset, true)) => {
            respond(asset, &headers, "public, max-age=31536000, immutable", None)
        }
        Some((asset, false)) => respond(asset, &headers, "no-cache", None),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `/favicon.ico`, which browsers ask for by that name (the pages also name the SVG icon).
async fn favicon(headers: HeaderMap) -> Response {
    match ASSETS.files.get("core/favicon.ico") {
        Some((asset, _)) => respond(asset, &headers, "public, max-age=86400", None),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn service_worker(headers: HeaderMap) -> Response {
    match &ASSETS.service_worker {
        Some(asset) => respond(asset, &headers, "no-cache", None),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The routes of the web faces, to merge into the API router: the pages, the field app's
/// service worker, `/favicon.ico` and `/assets/*`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let mut router = Router::new()
        .route("/assets/{*path}", get(file))
        .route("/field/sw.js", get(service_worker))
        .route("/favicon.ico", get(favicon))
        .route(
            "/field",
            get(|| async { axum::response::Redirect::permanent("/field/") }),
        );
    for (route, _) in PAGES {
        router = router.route(route, get(move |headers: HeaderMap| page(route, headers)));
    }
    router
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_keep_the_extension() {
        assert_eq!(hashed_name("core/api.js", "abc"), "core/api.abc.js");
        assert_eq!(hashed_name("LICENSE", "abc"), "LICENSE.abc");
        assert_eq!(
            hashed_name("vendor/preact-10.29.8/LICENSE", "abc"),
            "vendor/preact-10.29.8/LICENSE.abc"
        );
    }

    #[test]
    fn every_module_of_a_page_is_mapped_to_its_hashed_name() {
        let (page, _) = &ASSETS.pages["/"];
        let html = std::str::from_utf8(&page.body).unwrap_or_default();
        assert!(html.contains("<script type=\"importmap\">"));
        assert!(!html.contains("{{"), "every placeholder is filled");
        for (_, path) in BARE_MODULES {
            assert!(html.contains(&ASSETS.url(path)), "{path}");
            assert!(ASSETS.files.contains_key(&ASSETS.hashed[path]));
        }
    }

    #[test]
    fn the_service_worker_keeps_every_file_of_the_field_app() {
        let sw = ASSETS.service_worker.as_ref().expect("service worker");
        let js = std::str::from_utf8(&sw.body).unwrap_or_default();
        assert!(!js.contains("{{"), "every placeholder is filled");
        for path in [
            "field/app.js",
            "core/replica.js",
            "core/sync.js",
            BARE_MODULES[0].1,
        ] {
            assert!(js.contains(&ASSETS.url(path)), "{path}");
        }
        assert!(js.contains("\"/field/\""));
        assert!(
            !js.contains("echarts"),
            "the console's charts are not the field app's"
        );
        let (page, _) = &ASSETS.pages["/field/"];
        let html = std::str::from_utf8(&page.body).unwrap_or_default();
        assert!(html.contains(&ASSETS.url("field/app.js")));
    }

    #[test]
    fn gzip_is_offered_only_when_accepted() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0.8"),
        );
        assert!(accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0"),
        );
        assert!(!accepts_gzip(&h));
    }
}

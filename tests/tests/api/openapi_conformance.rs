//! The server against its own `/openapi.json`: for every operation the document lists at run
//! time, requests generated from the document (valid ones with a real token of each role and
//! real ids, and invalid ones: no token, a bad token, a wrong content type, malformed JSON,
//! missing fields, wrong types, out-of-bound and malformed parameters, an oversized body) may
//! only get a status the document lists for that operation, never a 5xx, and every error has
//! the API's error shape with every property the document requires of it (a refused import's
//! `problems`); a body comes in a content type the document lists for its status. Some
//! invalid requests must get one exact answer: a JSON body that is not an object (an array,
//! even of nulls, `null`, a number, a string) is `422 invalid_body`; an empty query value
//! (`name=`) where the parameter's schema refuses an empty string is `400 invalid_query` with
//! the parameter as `field`.
//!
//! The generator is a small walker over `serde_json::Value` resolving `$ref`s; it is seeded, so
//! a run is reproducible. Operations added later are covered without changing this file.

use std::collections::BTreeMap;

use paicha_tests::{ADMIN_PASSWORD, ADMIN_USER, PASSWORD, TestApp, id_number, put, spawn_app_with};
use reqwest::Method;
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// The body limit of the test server, small so an oversized body is cheap to send.
const MAX_BODY: usize = 64 * 1024;
const MAX_BLOB: u64 = 96 * 1024;

/// A xorshift generator: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn uuid(&mut self) -> Uuid {
        Uuid::from_u64_pair(self.next(), self.next())
    }
}

/// Follows `$ref`s to `#/components/...`.
fn resolve<'a>(doc: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..16 {
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
            return schema;
        };
        let mut target = doc;
        for part in reference.trim_start_matches("#/").split('/') {
            target = &target[part];
        }
        schema = target;
    }
    schema
}

/// The schema without its `null` alternative (`Option<T>` is `oneOf [null, T]` or
/// `type: [T, "null"]`).
fn non_null<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    let schema = resolve(doc, schema);
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(v) = schema
            .get(key)
            .and_then(Value::as_array)
            .and_then(|variants| {
                variants
                    .iter()
                    .find(|v| v.get("type").and_then(Value::as_str) != Some("null"))
            })
        {
            return non_null(doc, v);
        }
    }
    schema
}

fn type_of(schema: &Value) -> &str {
    match schema.get("type") {
        Some(Value::String(t)) => t,
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ if schema.get("enum").is_some() => "string",
        _ => "any",
    }
}

/// Real values for names the server looks up: ids of the tenant, a stored blob, users.
struct Fixtures {
    by_name: BTreeMap<&'static str, Vec<Value>>,
    blob: Vec<u8>,
    blob_hash: String,
}

impl Fixtures {
    fn get(&self, name: &str) -> Option<&Vec<Value>> {
        self.by_name.get(name)
    }
}

/// A value valid for `schema`; `name` is the field's or parameter's name, for fixtures.
fn generate(
    doc: &Value,
    schema: &Value,
    name: Option<&str>,
    fx: &Fixtures,
    rng: &mut Rng,
    depth: usize,
) -> Value {
    let schema = non_null(doc, schema);
    if let Some(values) = name.and_then(|n| fx.get(n)) {
        return rng.pick(values).clone();
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return rng.pick(values).clone();
    }
    match type_of(schema) {
        "string" => match schema.get("format").and_then(Value::as_str) {
            Some("uuid") => json!(rng.uuid()),
            Some("date") => json!("2024-03-01"),
            Some("date-time") => json!("2024-03-01T08:00:00Z"),
            _ => {
                let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(1);
                let max = schema
                    .get("maxLength")
                    .and_then(Value::as_u64)
                    .unwrap_or(12);
                let len = min.max(8.min(max)) as usize;
                let s: String = (0..len)
                    .map(|_| char::from(b'a' + (rng.below(26) as u8)))
                    .collect();
                json!(s)
            }
        },
        "integer" | "number" => {
            let min = schema.get("minimum").and_then(Value::as_i64).unwrap_or(0);
            let max = schema
                .get("maximum")
                .and_then(Value::as_i64)
                .unwrap_or(min + 3);
            json!(min + rng.below((max - min).clamp(0, 3) as usize + 1) as i64)
        }
        "boolean" => json!(rng.coin()),
        "array" => {
            let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
            let max = schema.get("maxItems").and_then(Value::as_u64).unwrap_or(3) as usize;
            let n = (min + rng.below(3)).min(max).max(min);
            let items = schema.get("items").cloned().unwrap_or(json!({}));
            json!(
                (0..n)
                    .map(|_| generate(doc, &items, None, fx, rng, depth + 1))
                    .collect::<Vec<_>>()
            )
        }
        "object" => {
            let mut out = Map::new();
            if depth > 6 {
                return Value::Object(out);
            }
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (prop, sub) in props {
                    if required.contains(&prop.as_str()) || rng.coin() {
                        out.insert(
                            prop.clone(),
                            generate(doc, sub, Some(prop), fx, rng, depth + 1),
                        );
                    }
                }
            }
            Value::Object(out)
        }
        _ => json!({}),
    }
}

/// A value of the wrong type for `schema`.
fn wrong_type(doc: &Value, schema: &Value) -> Value {
    match type_of(non_null(doc, schema)) {
        "string" => json!(12345),
        "integer" | "number" => json!("not a number"),
        "boolean" => json!("maybe"),
        "array" => json!({"not": "an array"}),
        "object" => json!(["not", "an", "object"]),
        _ => json!(null),
    }
}

/// Query or path values that break the parameter's schema.
fn bad_param_values(doc: &Value, schema: &Value) -> Vec<String> {
    let schema = non_null(doc, schema);
    let mut out = vec![];
    if schema.get("enum").is_some() {
        out.push("no_such_value".to_owned());
    }
    match type_of(schema) {
        "integer" | "number" => {
            out.push("abc".to_owned());
            out.push("1.5".to_owned());
            if let Some(max) = schema.get("maximum").and_then(Value::as_i64) {
                out.push((max + 1).to_string());
            }
            if let Some(min) = schema.get("minimum").and_then(Value::as_i64) {
                out.push((min - 1).to_string());
            }
        }
        "boolean" => out.push("maybe".to_owned()),
        "string" => {
            match schema.get("format").and_then(Value::as_str) {
                Some("uuid") => out.push("not-a-uuid".to_owned()),
                Some("date") => out.push("2024-13-45".to_owned()),
                _ => {}
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
                out.push("x".repeat(max as usize + 1));
            }
            if schema.get("pattern").is_some() {
                out.push("!!NOT~VALID!!".to_owned());
            }
        }
        _ => {}
    }
    out
}

/// Whether an empty value breaks the parameter's schema.
fn refuses_empty(doc: &Value, schema: &Value) -> bool {
    let schema = non_null(doc, schema);
    match type_of(schema) {
        "integer" | "number" | "boolean" => true,
        "string" => {
            schema.get("enum").is_some()
                || schema.get("pattern").is_some()
                || schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) > 0
                || matches!(
                    schema.get("format").and_then(Value::as_str),
                    Some("uuid" | "date" | "date-time")
                )
        }
        _ => false,
    }
}

fn as_param(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One generated request.
struct Req {
    label: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    token: Option<String>,
    content_type: Option<String>,
    body: Option<Vec<u8>>,
    /// What the request must get exactly, beyond a documented status: (status, error code,
    /// error field).
    expect: Option<(u16, &'static str, Option<String>)>,
}

/// One operation of the document.
struct Op {
    method: Method,
    template: String,
    op: Value,
}

impl Op {
    fn key(&self) -> String {
        format!("{} {}", self.method, self.template)
    }

    fn secured(&self) -> bool {
        self.op
            .get("security")
            .and_then(Value::as_array)
            .is_some_and(|s| !s.is_empty())
    }

    fn params(&self) -> Vec<Value> {
        self.op
            .get("parameters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    /// The first content type of the request body and its schema.
    fn body(&self) -> Option<(String, Value)> {
        let content = self.op.get("requestBody")?.get("content")?.as_object()?;
        let (ct, media) = content.iter().next()?;
        Some((
            ct.clone(),
            media.get("schema").cloned().unwrap_or(json!({})),
        ))
    }

    /// The content types the document lists for a status (`None` if it does not list it).
    fn contents(&self, status: u16) -> Option<Vec<String>> {
        let content = self.op["responses"].get(status.to_string())?.get("content");
        Some(
            content
                .and_then(Value::as_object)
                .map(|c| c.keys().map(|k| k.to_ascii_lowercase()).collect())
                .unwrap_or_default(),
        )
    }

    /// The top-level properties the documented JSON body of an error status requires.
    fn required_error_properties(&self, doc: &Value, status: u16) -> Vec<String> {
        self.op["responses"]
            .get(status.to_string())
            .and_then(|r| r.pointer("/content/application~1json/schema"))
            .map(|s| non_null(doc, s))
            .and_then(|s| s.get("required"))
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn documents(&self, status: u16) -> bool {
        let responses = &self.op["responses"];
        responses.get(status.to_string()).is_some()
            || responses.get(format!("{}XX", status / 100)).is_some()
            || responses.get("default").is_some()
    }
}

/// A request with valid parameters and body (required ones always, optional ones by coin).
fn valid_request(
    doc: &Value,
    op: &Op,
    fx: &Fixtures,
    rng: &mut Rng,
    token: Option<&str>,
    label: &str,
) -> (Req, Option<Value>) {
    let mut path = op.template.clone();
    let mut query = vec![];
    let mut headers = vec![];
    for p in op.params() {
        let p = resolve(doc, &p);
        let name = p["name"].as_str().unwrap_or_default();
        let required = p["required"].as_bool().unwrap_or(false);
        let schema = p.get("schema").cloned().unwrap_or(json!({}));
        let value = as_param(&generate(doc, &schema, Some(name), fx, rng, 0));
        match p["in"].as_str() {
            Some("path") => path = path.replace(&format!("{{{name}}}"), &value),
            Some("query") if required || rng.coin() => query.push((name.to_owned(), value)),
            // An optional header (a chunk's `Content-Range`) stays out of valid requests: its
            // value depends on the body.
            Some("header") if required => headers.push((name.to_owned(), value)),
            _ => {}
        }
    }
    let (content_type, body, json_body) = match op.body() {
        None => (None, None, None),
        Some((ct, schema)) if ct.contains("json") => {
            let value = generate(doc, &schema, None, fx, rng, 0);
            (
                Some(ct),
                Some(serde_json::to_vec(&value).unwrap()),
                Some(value),
            )
        }
        Some((ct, _)) => {
            // Bytes: the stored blob (which matches the blob fixture's hash) or a few random
            // bytes.
            let bytes = if rng.coin() {
                fx.blob.clone()
            } else {
                (0..64).map(|_| rng.next() as u8).collect()
            };
            (Some(ct), Some(bytes), None)
        }
    };
    (
        Req {
            label: label.to_owned(),
            path,
            query,
            headers,
            token: token.map(str::to_owned),
            content_type,
            body,
            expect: None,
        },
        json_body,
    )
}

/// Requests that break the document, each in one way.
fn invalid_requests(
    doc: &Value,
    op: &Op,
    fx: &Fixtures,
    rng: &mut Rng,
    token: Option<&str>,
) -> Vec<Req> {
    let mut out = vec![];
    let (base, json_body) = valid_request(doc, op, fx, rng, token, "base");
    let clone = |label: String, f: &dyn Fn(&mut Req)| {
        let mut r = Req {
            label,
            path: base.path.clone(),
            query: base.query.clone(),
            headers: base.headers.clone(),
            token: base.token.clone(),
            content_type: base.content_type.clone(),
            body: base.body.clone(),
            expect: None,
        };
        f(&mut r);
        r
    };
    if op.secured() {
        out.push(clone("no token".into(), &|r| r.token = None));
        out.push(clone("garbage token".into(), &|r| {
            r.token = Some("not-a-token".into())
        }));
        out.push(clone("token of another signature".into(), &|r| {
            r.token = Some(
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLW9mLXNvbWVvbmUtZWxzZQ".into(),
            )
        }));
    }
    for p in op.params() {
        let p = resolve(doc, &p);
        let name = p["name"].as_str().unwrap_or_default().to_owned();
        let schema = p.get("schema").cloned().unwrap_or(json!({}));
        for bad in bad_param_values(doc, &schema) {
            match p["in"].as_str() {
                Some("query") => out.push(clone(format!("query {name}={bad:.40}"), &|r| {
                    r.query.retain(|(n, _)| *n != name);
                    r.query.push((name.clone(), bad.clone()));
                })),
                Some("path") => {
                    let mut path = op.template.clone();
                    for q in op.params() {
                        let q = resolve(doc, &q);
                        let qn = q["name"].as_str().unwrap_or_default();
                        if q["in"] == "path" && qn != name {
                            let s = q.get("schema").cloned().unwrap_or(json!({}));
                            let v = as_param(&generate(doc, &s, Some(qn), fx, rng, 0));
                            path = path.replace(&format!("{{{qn}}}"), &v);
                        }
                    }
                    let bad_enc = bad.replace('~', "%7E").replace('!', "%21");
                    path = path.replace(&format!("{{{name}}}"), &bad_enc);
                    out.push(clone(format!("path {name}={bad:.40}"), &|r| {
                        r.path = path.clone()
                    }));
                }
                Some("header") => out.push(clone(format!("header {name}={bad:.40}"), &|r| {
                    r.headers.push((name.clone(), bad.clone()))
                })),
                _ => {}
            }
        }
        // An empty value (`name=`) is refused where the schema refuses an empty string (a
        // number, a boolean, a uuid or date, an enum, a pattern, a minimum length): never read
        // as if the parameter were absent.
        if p["in"] == "query" && refuses_empty(doc, &schema) {
            // Beside the required parameters only (the generator does not honour patterns, so
            // an optional one could be refused first).
            let required: Vec<String> = op
                .params()
                .iter()
                .map(|q| resolve(doc, q))
                .filter(|q| q["in"] == "query" && q["required"].as_bool() == Some(true))
                .filter_map(|q| q["name"].as_str().map(str::to_owned))
                .collect();
            out.push(clone(format!("query {name}= (empty)"), &|r| {
                r.query.retain(|(n, _)| *n != name && required.contains(n));
                r.query.push((name.clone(), String::new()));
                r.expect = Some((400, "invalid_query", Some(name.clone())));
            }));
        }
        if p["in"] == "header" {
            out.push(clone(format!("header {name}=garbage"), &|r| {
                r.headers.push((name.clone(), "garbage".into()))
            }));
        }
    }
    if let Some((ct, schema)) = op.body() {
        out.push(clone(format!("oversized body ({ct})"), &|r| {
            let mut big = b"{\"x\":\"".to_vec();
            big.extend(std::iter::repeat_n(
                b'a',
                (MAX_BLOB as usize).max(MAX_BODY) + 1024,
            ));
            big.extend(b"\"}");
            r.body = Some(big);
        }));
        out.push(clone("text/plain body".into(), &|r| {
            r.content_type = Some("text/plain".into())
        }));
        out.push(clone("no content type".into(), &|r| r.content_type = None));
        if ct.contains("json") {
            for (label, raw) in [("malformed json", "{\"a\":"), ("empty body", "")] {
                out.push(clone(label.into(), &|r| {
                    r.body = Some(raw.as_bytes().to_vec())
                }));
            }
            let schema = non_null(doc, &schema);
            // Every request body is a JSON object: any other JSON value is 422 `invalid_body`.
            // An array of as many nulls as the object has fields is what serde would read as a
            // struct of optional fields, all absent (an empty patch).
            let fields = schema
                .get("properties")
                .and_then(Value::as_object)
                .map_or(1, |p| p.len().max(1));
            let nulls = serde_json::to_string(&vec![Value::Null; fields]).unwrap();
            for (label, raw) in [
                ("json array", "[]".to_owned()),
                ("json array of nulls", nulls),
                ("json null", "null".to_owned()),
                ("json number", "42".to_owned()),
                ("json string", "\"text\"".to_owned()),
            ] {
                out.push(clone(label.into(), &|r| {
                    r.body = Some(raw.as_bytes().to_vec());
                    r.expect = Some((422, "invalid_body", None));
                }));
            }
            if let Some(Value::Object(body)) = &json_body {
                let required: Vec<String> = schema
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| {
                        r.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                for field in &required {
                    let mut b = body.clone();
                    b.remove(field);
                    out.push(clone(format!("missing {field}"), &|r| {
                        r.body = Some(serde_json::to_vec(&b).unwrap())
                    }));
                }
                if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                    for (field, sub) in props {
                        let mut b = body.clone();
                        b.insert(field.clone(), wrong_type(doc, sub));
                        out.push(clone(format!("wrong type {field}"), &|r| {
                            r.body = Some(serde_json::to_vec(&b).unwrap())
                        }));
                        // Values that break a bound, an enum or a format of the field.
                        let sub = non_null(doc, sub);
                        let mut bad_values = vec![];
                        if sub.get("enum").is_some() {
                            bad_values.push(json!("no_such_value"));
                        }
                        if let Some(max) = sub.get("maxLength").and_then(Value::as_u64) {
                            bad_values.push(json!("x".repeat(max as usize + 1)));
                        }
                        if sub.get("minLength").and_then(Value::as_u64).unwrap_or(0) > 0 {
                            bad_values.push(json!(""));
                        }
                        if sub.get("format").and_then(Value::as_str) == Some("uuid") {
                            bad_values.push(json!("not-a-uuid"));
                        }
                        if let Some(min) = sub.get("minimum").and_then(Value::as_i64) {
                            bad_values.push(json!(min - 1));
                        }
                        for bad in bad_values {
                            let mut b = body.clone();
                            b.insert(field.clone(), bad.clone());
                            out.push(clone(format!("bad {field}={bad:.40}"), &|r| {
                                r.body = Some(serde_json::to_vec(&b).unwrap())
                            }));
                        }
                    }
                }
                let mut b = body.clone();
                b.insert("no_such_field".into(), json!(1));
                out.push(clone("unknown field".into(), &|r| {
                    r.body = Some(serde_json::to_vec(&b).unwrap())
                }));
            }
        }
    }
    out
}

/// The `message` strings anywhere in an answer.
fn messages_of(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                match (k.as_str(), x) {
                    ("message", Value::String(m)) => out.push(m.clone()),
                    _ => messages_of(x, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| messages_of(x, out)),
        _ => {}
    }
}

/// Sends `req`, and records a failure for a 5xx, a status the operation does not document, or
/// an error without the API's error shape.
async fn check(
    http: &reqwest::Client,
    doc: &Value,
    base: &str,
    op: &Op,
    req: &Req,
    failures: &mut Vec<String>,
) -> u16 {
    let mut url = reqwest::Url::parse(&format!("{base}{}", req.path)).expect("a URL");
    if !req.query.is_empty() {
        url.query_pairs_mut().extend_pairs(&req.query);
    }
    let mut builder = http.request(op.method.clone(), url);
    if let Some(token) = &req.token {
        builder = builder.bearer_auth(token);
    }
    for (name, value) in &req.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if let Some(ct) = &req.content_type {
        builder = builder.header(reqwest::header::CONTENT_TYPE, ct.as_str());
    }
    if let Some(body) = &req.body {
        builder = builder.body(body.clone());
    }
    let what = format!("{} [{}] {} {:?}", op.key(), req.label, req.path, req.query);
    let response = match builder.send().await {
        Ok(r) => r,
        Err(e) => {
            failures.push(format!("{what}: no response: {e}"));
            return 0;
        }
    };
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    let bytes = response.bytes().await.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
    if status >= 500 {
        failures.push(format!("{what}: server error {status}: {text}"));
    } else if !op.documents(status) {
        failures.push(format!("{what}: undocumented status {status}: {text}"));
    }
    // The body is of a content type the document lists for the status.
    if let Some(documented) = op.contents(status)
        && !documented.is_empty()
        && !documented
            .iter()
            .any(|d| d == "*/*" || d == "application/octet-stream")
    {
        match &content_type {
            Some(ct) if documented.contains(ct) => {}
            other => failures.push(format!(
                "{what}: {status} answered as {other:?}, documented {documented:?}"
            )),
        }
    }
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    // Every message of the answer (an error's, a refused mutation's, an import problem's) is
    // for people: none speaks the API's words (tests/tests/api/vocabulary.rs).
    let mut messages = Vec::new();
    messages_of(&body, &mut messages);
    for message in messages {
        let words = paicha_domain::words::api_words_in(&message);
        if !words.is_empty() {
            failures.push(format!(
                "{what}: {status} says {message:?}, with the API's words {words:?}"
            ));
        }
    }
    if status >= 400 {
        if !body["error"]["code"].is_string() || !body["error"]["message"].is_string() {
            failures.push(format!("{what}: {status} without the error shape: {text}"));
        }
        // Every property the documented error body requires is there (a refused import's
        // `problems`).
        for field in op.required_error_properties(doc, status) {
            if body.get(&field).is_none() {
                failures.push(format!("{what}: {status} without `{field}`: {text}"));
            }
        }
    }
    if let Some((want, code, field)) = &req.expect {
        let got_field = body["error"]["field"].as_str().map(str::to_owned);
        let field_ok = field.is_none() || *field == got_field;
        if status != *want || body["error"]["code"] != *code || !field_ok {
            failures.push(format!(
                "{what}: wanted {want} {code} (field {field:?}), got {status}: {text}"
            ));
        }
    }
    status
}

/// The operations of the document, in document order.
fn operations(doc: &Value) -> Vec<Op> {
    let mut out = vec![];
    for (template, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let Ok(method) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else {
                continue;
            };
            if matches!(
                method,
                Method::GET | Method::POST | Method::PUT | Method::DELETE | Method::PATCH
            ) {
                out.push(Op {
                    method,
                    template: template.clone(),
                    op: op.clone(),
                });
            }
        }
    }
    // Operations that end sessions or delete things go last, so the others see the fixtures.
    out.sort_by_key(|op| {
        (
            op.method == Method::DELETE
                || op.template.contains("logout")
                || op.template.contains("revoke"),
            op.template.clone(),
        )
    });
    out
}

/// A signed-in user of one role, signed in again when a request ended its session.
struct Caller {
    username: String,
    password: String,
    token: String,
}

async fn sign_in(app: &TestApp, username: &str, password: &str) -> String {
    let (_, tokens) = app
        .client
        .signed_in(username, password)
        .await
        .unwrap_or_else(|e| panic!("sign in {username}: {e}"));
    tokens.access_token
}

#[tokio::test]
async fn every_operation_answers_only_documented_statuses() {
    let started = std::time::Instant::now();
    let app = spawn_app_with(|s| {
        s.max_body_bytes = MAX_BODY;
        s.max_blob_bytes = MAX_BLOB;
    })
    .await;
    let t = app.tenant("oa").await;
    let http = reqwest::Client::new();
    let doc: Value = http
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    // Real data for the ids the generator uses: a member with an audit trail, a stored blob,
    // a unit that may be deleted, a user whose sign-in the generated logins try.
    let member = Uuid::now_v7();
    t.secretary1
        .push(
            "oa-phone",
            vec![put(
                1,
                "members",
                member,
                t.branch1.id,
                json!({"name": "张三", "id_number": id_number("19800101", 11)}),
            )],
        )
        .await
        .unwrap();
    let mut blob = vec![0xFF, 0xD8, 0xFF, 0xE0];
    blob.extend(b"openapi conformance blob");
    let blob_hash = {
        use sha2::Digest as _;
        sha2::Sha256::digest(&blob)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    t.secretary1
        .put_blob(&blob_hash, blob.clone())
        .await
        .unwrap();
    let spare = t
        .admin
        .create_org_unit(&paicha_tests::unit(
            Some(t.street.id),
            paicha_domain::org::OrgUnitKind::WorkArea,
            "oa空工作区",
        ))
        .await
        .unwrap();
    let loginee = "oa-loginee";
    app.user_at(
        &t.admin,
        loginee,
        paicha_domain::role::Role::BranchSecretary,
        &t.branch2,
    )
    .await;
    let (_, spare_tokens) = app.sign_in(loginee).await;

    let random_uuid = json!(Uuid::from_u128(0x0123_4567_89ab_4def_8123_4567_89ab_cdef));
    let mut by_name: BTreeMap<&'static str, Vec<Value>> = BTreeMap::new();
    by_name.insert(
        "org_unit_id",
        vec![
            json!(t.branch1.id),
            json!(t.street.id),
            json!(t.committee.id),
            random_uuid.clone(),
        ],
    );
    by_name.insert(
        "parent_id",
        vec![
            json!(t.street.id),
            json!(t.work_area.id),
            random_uuid.clone(),
        ],
    );
    by_name.insert(
        "id",
        vec![
            json!(member),
            json!(spare.id),
            json!(t.branch2.id),
            random_uuid.clone(),
        ],
    );
    by_name.insert("sha256", vec![json!(blob_hash), json!("ab".repeat(32))]);
    by_name.insert("username", vec![json!(loginee), json!("oa-generated-user")]);
    by_name.insert(
        "password",
        vec![json!(PASSWORD), json!("wrong-password-123")],
    );
    by_name.insert(
        "refresh_token",
        vec![
            json!(spare_tokens.refresh_token),
            json!("not-a-refresh-token"),
        ],
    );
    by_name.insert("device_id", vec![json!("oa-phone"), json!("oa-tablet")]);
    by_name.insert(
        "collections",
        vec![json!("members"), json!("members,transfers")],
    );
    by_name.insert("list_name", vec![json!("2016年3月转出明细")]);
    by_name.insert("name", vec![json!("oa生成单位")]);
    by_name.insert("fields", vec![json!({"name": "李四"}), json!({})]);
    let fx = Fixtures {
        by_name,
        blob,
        blob_hash,
    };
    assert!(!fx.blob_hash.is_empty());

    let mut callers = vec![
        Caller {
            username: ADMIN_USER.into(),
            password: ADMIN_PASSWORD.into(),
            token: String::new(),
        },
        Caller {
            username: "oa-admin".into(),
            password: PASSWORD.into(),
            token: String::new(),
        },
        Caller {
            username: "oa-street".into(),
            password: PASSWORD.into(),
            token: String::new(),
        },
        Caller {
            username: "oa-sec1".into(),
            password: PASSWORD.into(),
            token: String::new(),
        },
    ];
    for c in &mut callers {
        c.token = sign_in(&app, &c.username, &c.password).await;
    }
    let ops = operations(&doc);
    assert!(
        ops.len() >= 20,
        "the document lists only {} operations",
        ops.len()
    );
    let mut failures = vec![];
    // Every documented error has a JSON body whose schema is the error shape.
    for op in &ops {
        for (status, response) in op.op["responses"].as_object().expect("responses") {
            if status.as_str() < "400" {
                continue;
            }
            let schema = response
                .pointer("/content/application~1json/schema")
                .map(|s| non_null(&doc, s));
            let error = schema.and_then(|s| s.pointer("/properties/error"));
            let error = error.map(|e| non_null(&doc, e));
            if !error.is_some_and(|e| {
                ["code", "message"]
                    .iter()
                    .all(|f| e.pointer(&format!("/properties/{f}")).is_some())
            }) {
                failures.push(format!("{} {status}: no error body schema", op.key()));
            }
        }
    }
    // A cheap authenticated read, to tell whether a token still works.
    let probe = ops
        .iter()
        .find(|op| op.method == Method::GET && op.secured() && op.params().is_empty())
        .map(|op| op.template.clone())
        .expect("a secured GET without parameters");

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut sent = 0usize;
    for op in &ops {
        let mut statuses = BTreeMap::<u16, usize>::new();
        for caller in &callers {
            for variant in 0..3 {
                let token = op.secured().then_some(caller.token.as_str());
                let label = format!("valid #{variant} as {}", caller.username);
                let (req, _) = valid_request(&doc, op, &fx, &mut rng, token, &label);
                let status = check(&http, &doc, &app.base, op, &req, &mut failures).await;
                *statuses.entry(status).or_default() += 1;
                sent += 1;
            }
        }
        // Invalid requests as the committee admin (no token where the route has none).
        let token = op.secured().then_some(callers[1].token.clone());
        for mut req in invalid_requests(&doc, op, &fx, &mut rng, token.as_deref()) {
            // A request that must get one exact answer is sent with a live session (an
            // earlier one may have been a logout).
            if req.expect.is_some() && req.token.is_some() {
                let alive = http
                    .get(format!("{}{probe}", app.base))
                    .bearer_auth(&callers[1].token)
                    .send()
                    .await
                    .unwrap()
                    .status();
                if alive == reqwest::StatusCode::UNAUTHORIZED
                    && let Ok((_, tokens)) = app
                        .client
                        .signed_in(&callers[1].username, &callers[1].password)
                        .await
                {
                    callers[1].token = tokens.access_token;
                }
                req.token = Some(callers[1].token.clone());
            }
            let status = check(&http, &doc, &app.base, op, &req, &mut failures).await;
            *statuses.entry(status).or_default() += 1;
            sent += 1;
        }
        eprintln!("{}: {statuses:?}", op.key());
        // Sign in again whoever this operation signed out.
        for c in &mut callers {
            let alive = http
                .get(format!("{}{probe}", app.base))
                .bearer_auth(&c.token)
                .send()
                .await
                .unwrap()
                .status();
            if alive == reqwest::StatusCode::UNAUTHORIZED {
                // A generated request may have disabled the account: its requests then get
                // 401, which every secured operation documents.
                match app.client.signed_in(&c.username, &c.password).await {
                    Ok((_, tokens)) => c.token = tokens.access_token,
                    Err(e) => eprintln!("{} cannot sign in again: {e}", c.username),
                }
            }
        }
    }
    eprintln!(
        "{} operations, {sent} requests, {:?}",
        ops.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {sent} requests broke the document:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

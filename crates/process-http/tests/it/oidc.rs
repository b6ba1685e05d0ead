//! JWTs of an OpenID Connect provider (`[oidc]`), played here with key pairs and a JWKS made
//! by the test: a JWKS file, and a JWKS served over HTTP on this machine. Users appear on
//! first sight; their groups come from each token; the admin group makes admins.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, TestApp, BACKENDS};

const ISSUER: &str = "https://id.example.org/realms/lab";
const AUDIENCE: &str = "processd";

/// A signing key of the provider and its public half as a JWK.
struct Key {
    alg: Algorithm,
    der: Vec<u8>,
    jwk: Value,
}

impl Key {
    fn ec(kid: &str) -> Self {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        use p256::pkcs8::EncodePrivateKey;
        let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let point = secret.public_key().to_encoded_point(false);
        Key {
            alg: Algorithm::ES256,
            der: secret.to_pkcs8_der().unwrap().as_bytes().to_vec(),
            jwk: json!({
                "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
                "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
                "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
            }),
        }
    }

    fn rsa(kid: &str) -> Self {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::traits::PublicKeyParts;
        let secret = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        Key {
            alg: Algorithm::RS256,
            der: secret.to_pkcs1_der().unwrap().as_bytes().to_vec(),
            jwk: json!({
                "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
                "n": URL_SAFE_NO_PAD.encode(secret.n().to_bytes_be()),
                "e": URL_SAFE_NO_PAD.encode(secret.e().to_bytes_be()),
            }),
        }
    }

    /// A JWT with `claims`, signed with this key and naming key `kid`.
    fn sign(&self, kid: &str, claims: &Value) -> String {
        let encoding = match self.alg {
            Algorithm::RS256 => EncodingKey::from_rsa_der(&self.der),
            _ => EncodingKey::from_ec_der(&self.der),
        };
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.to_owned());
        encode(&header, claims, &encoding).unwrap()
    }
}

struct Keys {
    ec: Key,
    rsa: Key,
    /// Not in the JWKS.
    stranger: Key,
}

/// Made once: an RSA key takes a while to generate.
fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        ec: Key::ec("ec-1"),
        rsa: Key::rsa("rsa-1"),
        stranger: Key::ec("ec-1"),
    })
}

fn jwks(keys: &[&Key]) -> String {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()}).to_string()
}

/// Claims of a token for `user` in `groups`, valid five minutes.
fn claims(user: &str, groups: &[&str]) -> Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    json!({
        "iss": ISSUER, "aud": [AUDIENCE, "account"], "sub": format!("sub-{user}"),
        "iat": now, "exp": now + 300,
        "preferred_username": user, "groups": groups,
        "email": format!("{user}@example.org"), "given_name": "Carol", "family_name": "Lab",
    })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn oidc_config(jwks: &str) -> String {
    format!(
        "[oidc]\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\n{jwks}\nadmin_group = \"processd-admins\"\n"
    )
}

async fn status(app: &TestApp, token: &str) -> (u16, Value) {
    let res = app
        .get("/api/authn/status", Some(token))
        .send()
        .await
        .unwrap();
    let code = res.status().as_u16();
    (code, res.json().await.unwrap_or(Value::Null))
}

async fn launch_status(app: &TestApp, script: &str, token: &str) -> u16 {
    app.launch(script, Some(token), json!([]), vec![])
        .await
        .status()
        .as_u16()
}

#[actix_web::test]
async fn provider_tokens_make_users_with_the_tokens_groups() {
    let keys = keys();
    for backend in BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("jwks.json");
        std::fs::write(&file, jwks(&[&keys.ec, &keys.rsa])).unwrap();
        let config = oidc_config(&format!("jwks_file = \"{}\"", file.display()));
        let Some(app) = spawn_app_with(backend, &config).await else {
            continue;
        };

        // First sight: carol is created, with what her token says.
        let carol = keys.ec.sign("ec-1", &claims("carol", &["lab"]));
        let (code, body) = status(&app, &carol).await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(body["authenticationMethod"], "oidc");
        let eperson = &body["_embedded"]["eperson"];
        assert_eq!(eperson["name"], "carol");
        assert_eq!(eperson["netid"], "carol");
        assert_eq!(eperson["email"], "carol@example.org");
        assert_eq!(
            eperson["metadata"]["eperson.firstname"][0]["value"],
            "Carol"
        );
        assert_eq!(eperson["groups"], json!(["lab"]));
        assert_eq!(eperson["admin"], false);
        assert_eq!(eperson["canLogIn"], true);
        let id = eperson["id"].as_str().unwrap().to_owned();
        // Seen again: the same user.
        let (_, again) = status(&app, &carol).await;
        assert_eq!(again["_embedded"]["eperson"]["id"], id.as_str());

        // Groups map to scripts' `allowed`; the admin group makes admins (RS256 here).
        assert_eq!(launch_status(&app, "lab-only", &carol).await, 202);
        assert_eq!(launch_status(&app, "admin-only", &carol).await, 403);
        let by_property = "/api/system/processes/search/byProperty";
        let res = app.get(by_property, Some(&carol)).send().await.unwrap();
        assert_eq!(res.status(), 403);
        let dave = keys
            .rsa
            .sign("rsa-1", &claims("dave", &["processd-admins"]));
        let res = app.get(by_property, Some(&dave)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(launch_status(&app, "admin-only", &dave).await, 202);

        // The token exchanged for a login JWT (a refresh of it): a session that began with
        // the provider, with the groups the token had.
        let res = app
            .post("/api/authn/login", Some(&carol))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let header = res.headers()["authorization"].to_str().unwrap();
        let jwt = header.strip_prefix("Bearer ").unwrap().to_owned();
        let (code, body) = status(&app, &jwt).await;
        assert_eq!(code, 200);
        assert_eq!(body["authenticationMethod"], "oidc");
        assert_eq!(body["_embedded"]["eperson"]["id"], id.as_str());
        assert_eq!(launch_status(&app, "lab-only", &jwt).await, 202);

        // Groups come from each token: out of "lab", out of lab-only.
        let carol_now = keys.ec.sign("ec-1", &claims("carol", &[]));
        assert_eq!(launch_status(&app, "lab-only", &carol_now).await, 403);
        let (_, body) = status(&app, &carol_now).await;
        assert_eq!(body["_embedded"]["eperson"]["groups"], json!([]));

        // Refused: another issuer or audience, expired, a forged signature, an unknown key,
        // no user claim, and a name that belongs to a local user.
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let good = claims("carol", &["lab"]);
        let refused = [
            (
                "issuer",
                keys.ec.sign(
                    "ec-1",
                    &with(good.clone(), "iss", json!("https://evil.example.org")),
                ),
            ),
            (
                "audience",
                keys.ec
                    .sign("ec-1", &with(good.clone(), "aud", json!("someone-else"))),
            ),
            (
                "expired",
                keys.ec
                    .sign("ec-1", &with(good.clone(), "exp", json!(now - 120))),
            ),
            (
                "no exp",
                keys.ec
                    .sign("ec-1", &with(good.clone(), "exp", Value::Null)),
            ),
            ("signature", keys.stranger.sign("ec-1", &good)),
            ("unknown kid", keys.ec.sign("ec-9", &good)),
            ("rsa kid, ec key", keys.ec.sign("rsa-1", &good)),
            (
                "no user",
                keys.ec.sign(
                    "ec-1",
                    &with(good.clone(), "preferred_username", Value::Null),
                ),
            ),
            (
                "local user",
                keys.ec.sign("ec-1", &claims("alice", &["processd-admins"])),
            ),
        ];
        for (why, token) in refused {
            let (code, body) = status(&app, &token).await;
            assert_eq!(code, 401, "{why}: {body}");
            assert_eq!(body["code"], "unauthorized", "{why}");
        }
        // Alice keeps her own account and rights.
        let (_, body) = status(&app, &app.alice).await;
        assert_eq!(body["_embedded"]["eperson"]["admin"], false);
    }
}

#[actix_web::test]
async fn provider_tokens_are_refused_when_no_provider_is_configured() {
    let keys = keys();
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let token = keys.ec.sign("ec-1", &claims("carol", &["lab"]));
        let (code, _) = status(&app, &token).await;
        assert_eq!(code, 401);
    }
}

/// A JWKS served over HTTP on this machine; counts the fetches.
struct JwksServer {
    url: String,
    body: Arc<Mutex<String>>,
    fetches: Arc<AtomicUsize>,
}

fn serve_jwks(initial: String) -> JwksServer {
    use actix_web::{web, App, HttpResponse, HttpServer};
    let body = Arc::new(Mutex::new(initial));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (b, f) = (Arc::clone(&body), Arc::clone(&fetches));
    let server = HttpServer::new(move || {
        let (b, f) = (Arc::clone(&b), Arc::clone(&f));
        App::new().route(
            "/jwks",
            web::get().to(move || {
                f.fetch_add(1, Ordering::SeqCst);
                let text = b.lock().unwrap().clone();
                async move {
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body(text)
                }
            }),
        )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    actix_web::rt::spawn(server.run());
    JwksServer {
        url: format!("http://127.0.0.1:{port}/jwks"),
        body,
        fetches,
    }
}

#[actix_web::test]
async fn a_jwks_url_is_read_when_needed_kept_and_read_again_at_most_so_often() {
    let keys = keys();
    for backend in BACKENDS {
        let server = serve_jwks(jwks(&[&keys.ec]));
        let config = oidc_config(&format!("jwks_url = \"{}\"", server.url));
        let Some(app) = spawn_app_with(backend, &config).await else {
            continue;
        };
        assert_eq!(
            server.fetches.load(Ordering::SeqCst),
            0,
            "read when first needed"
        );

        // A key the provider does not have: read once, still unknown.
        let unknown = keys.rsa.sign("rsa-1", &claims("carol", &[]));
        assert_eq!(status(&app, &unknown).await.0, 401);
        assert_eq!(server.fetches.load(Ordering::SeqCst), 1);
        // The key it has is kept: no second read.
        let good = keys.ec.sign("ec-1", &claims("carol", &[]));
        assert_eq!(status(&app, &good).await.0, 200);
        assert_eq!(status(&app, &good).await.0, 200);
        assert_eq!(server.fetches.load(Ordering::SeqCst), 1);
        // The provider rotates, but a read was just made: made-up or new key ids do not
        // make processd ask again before jwks_min_refresh (10 s by default).
        *server.body.lock().unwrap() = jwks(&[&keys.ec, &keys.rsa]);
        assert_eq!(status(&app, &unknown).await.0, 401);
        assert_eq!(server.fetches.load(Ordering::SeqCst), 1);
    }
}

#[actix_web::test]
async fn a_rotated_key_is_fetched_when_a_token_names_it() {
    let keys = keys();
    for backend in BACKENDS {
        let server = serve_jwks(jwks(&[&keys.ec]));
        let config = oidc_config(&format!(
            "jwks_url = \"{}\"\njwks_min_refresh = \"0s\"",
            server.url
        ));
        let Some(app) = spawn_app_with(backend, &config).await else {
            continue;
        };
        let old = keys.ec.sign("ec-1", &claims("carol", &[]));
        assert_eq!(status(&app, &old).await.0, 200);
        *server.body.lock().unwrap() = jwks(&[&keys.rsa]);
        let new = keys.rsa.sign("rsa-1", &claims("carol", &[]));
        assert_eq!(status(&app, &new).await.0, 200);
        assert_eq!(server.fetches.load(Ordering::SeqCst), 2);
    }
}

#[actix_web::test]
async fn a_provider_whose_keys_cannot_be_read_is_a_503_until_they_can() {
    let keys = keys();
    for backend in BACKENDS {
        let server = serve_jwks("<html>maintenance</html>".to_owned());
        let config = oidc_config(&format!(
            "jwks_url = \"{}\"\njwks_min_refresh = \"0s\"",
            server.url
        ));
        let Some(app) = spawn_app_with(backend, &config).await else {
            continue;
        };
        let token = keys.ec.sign("ec-1", &claims("carol", &[]));
        let res = app
            .get("/api/authn/status", Some(&token))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 503);
        assert!(res.headers().contains_key("retry-after"));
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "unavailable", "{body}");
        // API tokens do not depend on the provider.
        assert_eq!(status(&app, &app.alice).await.0, 200);

        *server.body.lock().unwrap() = jwks(&[&keys.ec]);
        assert_eq!(status(&app, &token).await.0, 200);
    }
}

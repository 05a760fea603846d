//! Bearer tokens, HS256 and RS256: what verifies and what must not. The RSA
//! key pair in `tests/data` was generated for this test only
//! (`openssl genrsa 2048`) and protects nothing.

use base64::Engine as _;
use glrl_server::auth::{Authenticator, JwtKey, Scope};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

const PRIVATE: &[u8] = include_bytes!("data/rs256-test-private.pem");
const PUBLIC: &[u8] = include_bytes!("data/rs256-test-public.pem");
const SECRET: &[u8] = b"a-test-secret-of-at-least-32-bytes!!";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(aud: &str, exp_in: i64) -> Value {
    json!({"sub": "ana", "tenant": "acme", "scope": "query sql", "aud": aud,
           "exp": (now() as i64 + exp_in) as u64})
}

fn rs256(c: &Value) -> String {
    encode(
        &Header::new(Algorithm::RS256),
        c,
        &EncodingKey::from_rsa_pem(PRIVATE).unwrap(),
    )
    .unwrap()
}

fn hs256(c: &Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        c,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap()
}

fn unsigned(c: &Value) -> String {
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(c.clone())
    )
}

#[test]
fn rs256_verifies_with_the_public_key_and_rejects_the_rest() {
    let a = Authenticator::new()
        .with_jwt(JwtKey::Rs256(PUBLIC.to_vec()), Some("glrl"))
        .unwrap();
    let p = a
        .authenticate(Some(&rs256(&claims("glrl", 600))), None)
        .unwrap();
    assert_eq!(p.tenant, "acme");
    assert!(p.require(Scope::Sql).is_ok() && p.require(Scope::Audit).is_err());
    for (why, token) in [
        ("expired", rs256(&claims("glrl", -600))),
        ("wrong audience", rs256(&claims("other", 600))),
        // An HS256 token cannot pass for RS256 (algorithm confusion).
        ("other algorithm", hs256(&claims("glrl", 600))),
        ("alg none", unsigned(&claims("glrl", 600))),
    ] {
        let e = a.authenticate(Some(&token), None).unwrap_err();
        assert_eq!(e.code, "UNAUTHENTICATED", "{why}");
    }
    // Change one character in the middle of the signature: the last one
    // may carry only padding bits that decoders ignore.
    let token = rs256(&claims("glrl", 600));
    let sig_start = token.rfind('.').unwrap() + 1;
    let i = sig_start + (token.len() - sig_start) / 2;
    let swapped = if &token[i..=i] == "A" { "B" } else { "A" };
    let tampered = format!("{}{swapped}{}", &token[..i], &token[i + 1..]);
    assert!(
        a.authenticate(Some(&tampered), None).is_err(),
        "bad signature"
    );
}

#[test]
fn hs256_verifies_with_the_secret_and_rejects_the_rest() {
    let a = Authenticator::new()
        .with_jwt(JwtKey::Hs256(SECRET.to_vec()), Some("glrl"))
        .unwrap();
    assert!(a
        .authenticate(Some(&hs256(&claims("glrl", 600))), None)
        .is_ok());
    for token in [
        hs256(&claims("glrl", -600)),
        hs256(&claims("other", 600)),
        rs256(&claims("glrl", 600)),
        unsigned(&claims("glrl", 600)),
    ] {
        assert!(a.authenticate(Some(&token), None).is_err());
    }
    assert!(Authenticator::new()
        .with_jwt(JwtKey::Rs256(b"not a key".to_vec()), None)
        .is_err());
}

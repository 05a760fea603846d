//! Who is calling: API keys (kept only as SHA-256 digests, each with a
//! tenant and scopes) and JWT bearer tokens (HS256 or RS256; expiry and
//! audience checked; the algorithm is fixed by configuration, so a token
//! cannot pick its own, and `alg: none` never verifies).

use crate::problem::Problem;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Ask questions, read the schema, sessions and feedback.
    Query,
    /// Validate and execute SQL directly.
    Sql,
    /// Read the tenant's audit log.
    Audit,
}

impl Scope {
    pub fn parse(s: &str) -> Option<Scope> {
        match s.trim() {
            "query" => Some(Scope::Query),
            "sql" => Some(Scope::Sql),
            "audit" => Some(Scope::Audit),
            _ => None,
        }
    }

    pub const ALL: [Scope; 3] = [Scope::Query, Scope::Sql, Scope::Audit];
}

#[derive(Debug, Clone)]
pub struct Principal {
    /// The key's name or the token's subject: the rate-limit bucket.
    pub id: String,
    pub tenant: String,
    pub scopes: Vec<Scope>,
}

impl Principal {
    pub fn require(&self, scope: Scope) -> Result<(), Problem> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "this credential lacks the '{scope:?}' scope"
            )))
        }
    }
}

#[derive(Debug, Clone)]
pub struct ApiKey {
    pub name: String,
    pub tenant: String,
    pub scopes: Vec<Scope>,
}

/// Hex SHA-256 of a key. Keys are long random strings, so a fast digest
/// is enough to make the stored form useless to whoever reads it.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

#[derive(Debug, Clone)]
pub enum JwtKey {
    Hs256(Vec<u8>),
    /// PEM-encoded RSA public key.
    Rs256(Vec<u8>),
}

#[derive(Default)]
pub struct Authenticator {
    keys: HashMap<String, ApiKey>,
    jwt: Option<(DecodingKey, Validation)>,
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    tenant: Option<String>,
    /// Space-separated scopes (OAuth style).
    #[serde(default)]
    scope: Option<String>,
}

impl Authenticator {
    pub fn new() -> Authenticator {
        Authenticator::default()
    }

    /// Adds a key by its digest (as stored in configuration).
    pub fn add_hashed(&mut self, digest: &str, key: ApiKey) {
        self.keys.insert(digest.to_lowercase(), key);
    }

    /// `GLRL_API_KEYS`-style bootstrap: comma-separated entries, each
    /// `KEY` (tenant `default`, every scope) or `TENANT:KEY` or
    /// `TENANT:KEY:scope+scope`.
    pub fn add_bootstrap(&mut self, spec: &str) -> Result<usize, String> {
        let mut n = 0;
        for (i, entry) in spec.split(',').map(str::trim).enumerate() {
            if entry.is_empty() {
                continue;
            }
            let parts: Vec<&str> = entry.split(':').collect();
            let (tenant, key, scopes) = match parts.as_slice() {
                [k] => ("default", *k, Scope::ALL.to_vec()),
                [t, k] => (*t, *k, Scope::ALL.to_vec()),
                [t, k, s] => {
                    let scopes: Option<Vec<Scope>> = s.split('+').map(Scope::parse).collect();
                    let scopes = scopes.ok_or_else(|| {
                        format!(
                            "API key entry {}: scopes are query, sql, audit joined by '+'",
                            i + 1
                        )
                    })?;
                    (*t, *k, scopes)
                }
                _ => {
                    return Err(format!(
                        "API key entry {} is not KEY, TENANT:KEY or TENANT:KEY:SCOPES",
                        i + 1
                    ))
                }
            };
            if key.len() < 16 {
                return Err(format!(
                    "API key entry {} is shorter than 16 characters",
                    i + 1
                ));
            }
            self.add_hashed(
                &hash_key(key),
                ApiKey {
                    name: format!("{tenant}-key-{}", i + 1),
                    tenant: tenant.to_string(),
                    scopes,
                },
            );
            n += 1;
        }
        Ok(n)
    }

    pub fn with_jwt(
        mut self,
        key: JwtKey,
        audience: Option<&str>,
    ) -> Result<Authenticator, String> {
        let (dk, alg) = match key {
            JwtKey::Hs256(secret) => (DecodingKey::from_secret(&secret), Algorithm::HS256),
            JwtKey::Rs256(pem) => (
                DecodingKey::from_rsa_pem(&pem).map_err(|e| format!("RS256 public key: {e}"))?,
                Algorithm::RS256,
            ),
        };
        let mut v = Validation::new(alg);
        v.set_required_spec_claims(&["exp", "sub"]);
        v.leeway = 5;
        match audience {
            Some(a) => v.set_audience(&[a]),
            None => v.validate_aud = false,
        }
        self.jwt = Some((dk, v));
        Ok(self)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.jwt.is_none()
    }

    /// The caller behind `Authorization: Bearer …` or `X-API-Key`.
    pub fn authenticate(
        &self,
        bearer: Option<&str>,
        api_key: Option<&str>,
    ) -> Result<Principal, Problem> {
        let token = match (bearer, api_key) {
            (Some(t), _) | (None, Some(t)) => t.trim(),
            (None, None) => {
                return Err(Problem::unauthenticated(
                    "send an API key (X-API-Key or Authorization: Bearer) or a JWT",
                ))
            }
        };
        if token.matches('.').count() == 2 {
            return self.jwt(token);
        }
        match self.keys.get(&hash_key(token)) {
            Some(k) => Ok(Principal {
                id: k.name.clone(),
                tenant: k.tenant.clone(),
                scopes: k.scopes.clone(),
            }),
            None => Err(Problem::unauthenticated("unknown API key")),
        }
    }

    fn jwt(&self, token: &str) -> Result<Principal, Problem> {
        let Some((key, validation)) = &self.jwt else {
            return Err(Problem::unauthenticated(
                "JWT bearer tokens are not configured",
            ));
        };
        let data = jsonwebtoken::decode::<Claims>(token, key, validation)
            .map_err(|e| Problem::unauthenticated(format!("invalid token: {e}")))?;
        let c = data.claims;
        let scopes = match c.scope.as_deref() {
            Some(s) => s.split_whitespace().filter_map(Scope::parse).collect(),
            None => vec![Scope::Query],
        };
        Ok(Principal {
            tenant: c.tenant.unwrap_or_else(|| "default".into()),
            id: format!("jwt:{}", c.sub),
            scopes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_matched_by_digest_with_their_tenant_and_scopes() {
        let mut a = Authenticator::new();
        assert_eq!(
            a.add_bootstrap("acme:0123456789abcdef:query, beta:fedcba9876543210")
                .unwrap(),
            2
        );
        let p = a.authenticate(None, Some("0123456789abcdef")).unwrap();
        assert_eq!(p.tenant, "acme");
        assert!(p.require(Scope::Sql).is_err());
        let p = a.authenticate(Some("fedcba9876543210"), None).unwrap();
        assert_eq!(p.tenant, "beta");
        assert!(p.require(Scope::Audit).is_ok());
        assert!(a.authenticate(None, Some("0123456789abcdeX")).is_err());
        assert!(a.authenticate(None, None).is_err());
        assert!(a.add_bootstrap("short").is_err());
        assert!(a.add_bootstrap("t:0123456789abcdef:drop").is_err());
    }
}

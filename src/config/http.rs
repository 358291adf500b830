//! Settings of the HTTP front: where it listens, who may call it
//! (`API_TOKENS`), the limits that keep one client from hurting the others,
//! the read pool, and where traces go.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::Secret;
use super::env::Env;

#[derive(Debug, Clone, Args)]
pub struct HttpSettings {
    /// Address of the HTTP server: health, readiness, metrics, REST API.
    /// Loopback by default; the container image sets 0.0.0.0:8080.
    #[arg(long, env = "HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: SocketAddr,

    /// Bearer tokens of the REST API, comma-separated `scope:token` pairs
    /// with scope `read` or `write` (write implies read). Unset: the API is
    /// open (a warning at start says so).
    #[arg(long, env = "API_TOKENS", hide_env_values = true)]
    pub api_tokens: Option<Secret>,

    /// File holding API_TOKENS (one pair per line or comma-separated), e.g.
    /// a mounted secret.
    #[arg(long, env = "API_TOKENS_FILE", value_name = "PATH")]
    pub api_tokens_file: Option<PathBuf>,

    /// Longest a request may take, in ms, waits (`Prefer: wait`) included;
    /// past it the answer is 503.
    #[arg(long, env = "HTTP_REQUEST_TIMEOUT_MS", default_value_t = 35_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_ms: u64,

    /// Longest a client may take to send a request's headers, in ms (slow
    /// clients holding connections open). It also ends a keep-alive
    /// connection idle for as long: keep it above the idle timeout of a
    /// load balancer in front (60 s on most).
    #[arg(long, env = "HTTP_HEADER_READ_TIMEOUT_MS", default_value_t = 65_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout_ms: u64,

    /// Largest request body, in bytes; larger ones get 413.
    #[arg(long, env = "HTTP_BODY_LIMIT_BYTES", default_value_t = 64 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub body_limit_bytes: u64,

    /// Requests served at once; more are shed with 503 and Retry-After.
    #[arg(long, env = "HTTP_CONCURRENCY_LIMIT", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency_limit: u32,

    /// Connections of the pool the GET endpoints read from, apart from the
    /// consumer's pool: reads cannot starve the command path.
    #[arg(long, env = "DATABASE_READ_POOL_SIZE", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub read_pool_size: u32,

    /// OTLP/HTTP endpoint (e.g. http://127.0.0.1:4318) to export traces to;
    /// unset, no trace leaves the process.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Read,
    Write,
}

/// The configured API tokens. `Debug` never shows them.
#[derive(Clone, Default)]
pub struct ApiTokens(Vec<(Scope, Secret)>);

impl fmt::Debug for ApiTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiTokens({} tokens)", self.0.len())
    }
}

/// `API_TOKENS` that cannot be used. Never quotes a token.
#[derive(Debug, thiserror::Error)]
pub enum ApiTokensError {
    #[error("API_TOKENS and API_TOKENS_FILE are both set; set one")]
    Both,
    #[error("cannot read API_TOKENS_FILE {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("API_TOKENS entry {position} is not scope:token with scope read or write")]
    Malformed { position: usize },
    #[error(
        "API_TOKENS entry {position}: a token must be 16 to 512 visible ASCII characters, no spaces"
    )]
    WeakOrInvalid { position: usize },
    #[error("API_TOKENS (or its file) is set but holds no token")]
    Empty,
}

impl ApiTokens {
    /// Parses `scope:token` pairs separated by commas or newlines.
    pub fn parse(text: &str) -> Result<Self, ApiTokensError> {
        let mut tokens = Vec::new();
        let entries = text
            .split([',', '\n'])
            .map(|e| e.trim())
            .filter(|e| !e.is_empty());
        for (index, entry) in entries.enumerate() {
            let position = index + 1;
            let (scope, token) = entry
                .split_once(':')
                .ok_or(ApiTokensError::Malformed { position })?;
            let scope = match scope.trim() {
                "read" => Scope::Read,
                "write" => Scope::Write,
                _ => return Err(ApiTokensError::Malformed { position }),
            };
            let valid =
                (16..=512).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_graphic());
            if !valid {
                return Err(ApiTokensError::WeakOrInvalid { position });
            }
            tokens.push((scope, Secret::new(token)));
        }
        if tokens.is_empty() {
            return Err(ApiTokensError::Empty);
        }
        Ok(Self(tokens))
    }

    /// The scope of `candidate`, if it is a configured token. Every token
    /// is compared, each in time independent of where they differ.
    pub fn scope_of(&self, candidate: &str) -> Option<Scope> {
        let mut found = None;
        for (scope, token) in &self.0 {
            if constant_time_eq(token.expose().as_bytes(), candidate.as_bytes()) {
                found = found.max(Some(*scope));
            }
        }
        found
    }
}

/// The longest token; candidates are compared over this many bytes.
const MAX_TOKEN: usize = 512;

/// Equality in a time that depends on neither value: always `MAX_TOKEN`
/// byte comparisons (a longer candidate is no token).
fn constant_time_eq(token: &[u8], candidate: &[u8]) -> bool {
    if candidate.len() > MAX_TOKEN {
        return false;
    }
    let mut difference = u8::from(token.len() != candidate.len());
    for i in 0..MAX_TOKEN {
        let x = token.get(i).copied().unwrap_or(0);
        let y = candidate.get(i).copied().unwrap_or(0);
        difference |= x ^ y;
    }
    std::hint::black_box(difference) == 0
}

impl HttpSettings {
    pub fn write_env(&self, env: &mut Env) {
        env.set("HTTP_ADDR", self.http_addr);
        env.set_some("API_TOKENS", self.api_tokens.as_ref().map(Secret::expose));
        env.set_path("API_TOKENS_FILE", &self.api_tokens_file);
        env.set("HTTP_REQUEST_TIMEOUT_MS", self.request_timeout_ms);
        env.set("HTTP_HEADER_READ_TIMEOUT_MS", self.header_read_timeout_ms);
        env.set("HTTP_BODY_LIMIT_BYTES", self.body_limit_bytes);
        env.set("HTTP_CONCURRENCY_LIMIT", self.concurrency_limit);
        env.set("DATABASE_READ_POOL_SIZE", self.read_pool_size);
        env.set_some("OTEL_EXPORTER_OTLP_ENDPOINT", self.otlp_endpoint.as_ref());
    }

    /// The tokens from `API_TOKENS` or `API_TOKENS_FILE`; `None` when
    /// neither is set (an open API).
    pub fn tokens(&self) -> Result<Option<ApiTokens>, ApiTokensError> {
        match (&self.api_tokens, &self.api_tokens_file) {
            (Some(_), Some(_)) => Err(ApiTokensError::Both),
            (Some(text), None) => ApiTokens::parse(text.expose()).map(Some),
            (None, Some(path)) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| ApiTokensError::Unreadable {
                        path: path.clone(),
                        source,
                    })?;
                ApiTokens::parse(&text).map(Some)
            }
            (None, None) => Ok(None),
        }
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const READER: &str = "r3ad-0nly-t0ken-xxxxxxxx";
    const WRITER: &str = "wr1te-t0ken-yyyyyyyyyyyy";

    #[test]
    fn tokens_have_scopes_and_write_implies_read() {
        let tokens = ApiTokens::parse(&format!("read:{READER}, write:{WRITER}\n")).unwrap();
        assert_eq!(tokens.scope_of(READER), Some(Scope::Read));
        assert_eq!(tokens.scope_of(WRITER), Some(Scope::Write));
        assert_eq!(tokens.scope_of(""), None);
        assert_eq!(tokens.scope_of(&READER[..READER.len() - 1]), None);
        assert_eq!(tokens.scope_of(&format!("{READER}x")), None);
        // The same token listed twice keeps its widest scope.
        let twice = ApiTokens::parse(&format!("read:{WRITER},write:{WRITER}")).unwrap();
        assert_eq!(twice.scope_of(WRITER), Some(Scope::Write));
    }

    #[test]
    fn bad_token_lists_are_refused_without_quoting_a_token() {
        for (text, expected) in [
            ("admin:abcdefghijklmnopqrstu", "entry 1 is not scope:token"),
            ("read:abcdefghijklmnopqrstu,abcdefghijklmnop", "entry 2"),
            ("write:short", "16 to 512"),
            ("write:has a space in it ......", "16 to 512"),
            (" , ", "holds no token"),
        ] {
            let error = ApiTokens::parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
            assert!(!error.contains("abcdefghijklmnop"), "{error}");
            assert!(!error.contains("short"), "{error}");
        }
    }

    #[test]
    fn debug_does_not_show_tokens() {
        let tokens = ApiTokens::parse(&format!("read:{READER}")).unwrap();
        assert_eq!(format!("{tokens:?}"), "ApiTokens(1 tokens)");
    }
}

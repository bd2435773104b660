//! RFC 9421 covered components: what a signature covers, and each one's value in a message.
//!
//! Why a closed set: a signature is only as strong as the agreement between signer and verifier
//! on what each covered component's value is. Every component here has one precise derivation
//! (RFC 9421 §2.1 for header fields, §2.2 for derived components), and anything RukaSec cannot
//! derive exactly (the `sf`, `key`, `bs` and `tr` parameters, unknown `@` names) is refused
//! rather than approximated, so a signature never verifies over a value the signer did not mean.
//!
//! Values that would let one line of a signature base pose as another (a line break inside a
//! header value that is not obsolete line folding, control characters, a method that is not a
//! token) are refused, never passed into the base. Component identifiers are RFC 8941 strings
//! with parameters, parsed and serialised with `sfv`.
//!
//! URLs go through the WHATWG URL parser (the `url` crate, which the HTTPS client's reqwest also
//! uses), so `@target-uri`, `@authority` and the rest are computed from the URL as it is sent:
//! scheme and host lowercased, default port dropped, fragment removed.

use std::fmt;

use sfv::{BareItem, FieldType as _, Item, KeyRef, Parameters, Parser, Version};

use crate::error::{Error, Result, SignatureFailure};

/// One covered component of an RFC 9421 signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Component {
    /// `@method`: the request method, as sent (case-sensitive).
    Method,
    /// `@target-uri`: the full target URI (absolute, without fragment).
    TargetUri,
    /// `@authority`: the host, lowercase, with the port only when it is not the scheme's default.
    Authority,
    /// `@scheme`: the URI scheme, lowercase.
    Scheme,
    /// `@request-target`: the path and, when there is one, `?` and the query.
    RequestTarget,
    /// `@path`: the absolute path (`/` when empty).
    Path,
    /// `@query`: `?` and the query (`?` alone when there is none).
    Query,
    /// `@query-param;name="..."`: one query parameter's value. Holds the *encoded* name, as in
    /// the identifier's `name` parameter; build it with [`Component::query_param`] from a
    /// decoded name.
    QueryParam(String),
    /// `@status`: a response's three-digit status code.
    Status,
    /// A header field, by its lowercase name (`content-type`); build it with
    /// [`Component::header`].
    Header(String),
    /// The component with the `req` flag: in a response, the value of the component in the
    /// request the response answers (RFC 9421 §2.4).
    Request(Box<Component>),
}

/// Longest component name echoed in an error reason (longer ones are not named).
const MAX_NAMED: usize = 64;

/// The component parameters RukaSec writes (checked at compile time).
const NAME_PARAM: &KeyRef = KeyRef::constant("name");
const REQ_PARAM: &KeyRef = KeyRef::constant("req");

impl Component {
    /// The component for header field `name`, lowercased.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `name` is not a field name (an RFC 9110 token).
    pub fn header(name: &str) -> Result<Self> {
        if !is_token(name) {
            return Err(Error::invalid_input("a header name is not a token"));
        }
        Ok(Self::Header(name.to_ascii_lowercase()))
    }

    /// The component for query parameter `decoded_name` (as the application sees it, before
    /// percent-encoding); the name is encoded as RFC 9421 §2.2.8 requires.
    pub fn query_param(decoded_name: &str) -> Self {
        Self::QueryParam(encode_query_part(decoded_name))
    }

    /// The component with the `req` flag (see [`Component::Request`]).
    #[must_use]
    pub fn of_request(self) -> Self {
        Self::Request(Box::new(self))
    }

    /// Parses one component identifier as it appears in `Signature-Input`, e.g. `"@method"`,
    /// `"@query-param";name="id"` or `"content-type"`.
    ///
    /// # Errors
    /// [`Error::Signature`] with [`SignatureFailure::Malformed`] when `identifier` is not a
    /// structured-field string item, names an unknown derived component or a name that is not a
    /// lowercase field name, or carries a parameter RukaSec does not support.
    pub fn parse(identifier: &str) -> Result<Self> {
        let item: Item = Parser::new(identifier)
            .with_version(Version::Rfc8941)
            .parse()
            .map_err(|_| malformed("a component identifier is not a structured-field item"))?;
        Self::from_item(&item)
    }

    /// The identifier serialised as in `Signature-Input` and the signature base, e.g.
    /// `"@query-param";name="id"`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the component was built with an invalid name.
    pub fn identifier(&self) -> Result<String> {
        Ok(self.to_item()?.serialize())
    }

    /// The component's name: `@method`, `content-type`, ... (no parameters).
    pub fn name(&self) -> &str {
        match self {
            Self::Method => "@method",
            Self::TargetUri => "@target-uri",
            Self::Authority => "@authority",
            Self::Scheme => "@scheme",
            Self::RequestTarget => "@request-target",
            Self::Path => "@path",
            Self::Query => "@query",
            Self::QueryParam(_) => "@query-param",
            Self::Status => "@status",
            Self::Header(name) => name,
            Self::Request(inner) => inner.name(),
        }
    }

    /// The component as an `sfv` item (string with parameters).
    pub(crate) fn to_item(&self) -> Result<Item> {
        let mut params = Parameters::new();
        let inner = match self {
            Self::Request(inner) => {
                if matches!(**inner, Self::Request(_)) {
                    return Err(Error::invalid_input("a component has the `req` flag twice"));
                }
                inner.as_ref()
            }
            other => other,
        };
        match inner {
            Self::QueryParam(name) => {
                let value = sfv::String::try_from(name.clone()).map_err(|_| {
                    Error::invalid_input("a query-parameter name is not a structured-field string")
                })?;
                params.insert(NAME_PARAM.to_owned(), BareItem::String(value));
            }
            Self::Header(name) if !is_lowercase_token(name) => {
                return Err(Error::invalid_input(
                    "a header component's name is not a lowercase token",
                ));
            }
            _ => {}
        }
        if matches!(self, Self::Request(_)) {
            params.insert(REQ_PARAM.to_owned(), BareItem::Boolean(true));
        }
        let name = sfv::String::try_from(inner.name().to_owned()).map_err(|_| {
            Error::invalid_input("a component name is not a structured-field string")
        })?;
        Ok(Item::with_params(BareItem::String(name), params))
    }

    /// The component an `sfv` item of `Signature-Input` names.
    pub(crate) fn from_item(item: &Item) -> Result<Self> {
        let BareItem::String(name) = &item.bare_item else {
            return Err(malformed("a component identifier is not a string"));
        };
        let name = name.as_str();
        let mut query_name: Option<&str> = None;
        let mut req = false;
        for (param, value) in &item.params {
            match (param.as_str(), value) {
                ("name", BareItem::String(value)) if name == "@query-param" => {
                    query_name = Some(value.as_str());
                }
                ("req", BareItem::Boolean(flag)) => req = *flag,
                (known @ ("sf" | "key" | "bs" | "tr" | "req" | "name"), _) => {
                    return Err(malformed(format!(
                        "the component parameter `{known}` is not supported here"
                    )));
                }
                _ => return Err(malformed("a component has an unknown parameter")),
            }
        }
        let component = match name {
            "@method" => Self::Method,
            "@target-uri" => Self::TargetUri,
            "@authority" => Self::Authority,
            "@scheme" => Self::Scheme,
            "@request-target" => Self::RequestTarget,
            "@path" => Self::Path,
            "@query" => Self::Query,
            "@status" => Self::Status,
            "@query-param" => Self::QueryParam(
                query_name
                    .ok_or_else(|| malformed("@query-param has no `name` parameter"))?
                    .to_owned(),
            ),
            "@signature-params" => {
                return Err(malformed("@signature-params cannot be a covered component"));
            }
            derived if derived.starts_with('@') => {
                let known_shape = derived.strip_prefix('@').is_some_and(is_token);
                return Err(malformed(if derived.len() <= MAX_NAMED && known_shape {
                    format!("the derived component `{derived}` is not supported")
                } else {
                    "an unknown derived component".to_owned()
                }));
            }
            header if is_lowercase_token(header) => Self::Header(header.to_owned()),
            _ => {
                return Err(malformed("a component name is not a lowercase field name"));
            }
        };
        if req && component == Self::Status {
            return Err(malformed("@status cannot have the `req` flag"));
        }
        Ok(if req {
            component.of_request()
        } else {
            component
        })
    }

    /// The component's value in `message` (RFC 9421 §2.1, §2.2).
    ///
    /// # Errors
    /// [`Error::Signature`] with [`SignatureFailure::ComponentNotInMessage`] when the message has
    /// no such component (an absent header, a missing query parameter, `@status` of a request);
    /// with [`SignatureFailure::Malformed`] when the value cannot be put in a signature base (a
    /// line break in a header value, a repeated query parameter, a method that is not a token).
    pub fn value(&self, message: &SignableMessage<'_>) -> Result<String> {
        match (self, &message.kind) {
            (Self::Request(inner), Kind::Response { request, .. }) => {
                if matches!(**inner, Self::Request(_)) {
                    return Err(malformed("a component has the `req` flag twice"));
                }
                let request = request
                    .ok_or_else(|| not_in_message(self, "the response has no related request"))?;
                if matches!(request.kind, Kind::Response { .. }) {
                    return Err(not_in_message(self, "the related message is not a request"));
                }
                inner.value(request)
            }
            (Self::Request(_), Kind::Request { .. }) => {
                Err(malformed("the `req` flag is only meaningful in a response"))
            }
            (Self::Header(name), _) => {
                if !is_lowercase_token(name) {
                    return Err(malformed(
                        "a header component's name is not a lowercase token",
                    ));
                }
                message
                    .header_value(name)?
                    .ok_or_else(|| not_in_message(self, "the header is absent"))
            }
            (Self::Status, Kind::Response { status, .. }) => Ok(format!("{status:03}")),
            (Self::Status, Kind::Request { .. }) => {
                Err(not_in_message(self, "a request has no status"))
            }
            (_, Kind::Response { .. }) => Err(not_in_message(
                self,
                "a request component needs the `req` flag in a response",
            )),
            (derived, Kind::Request { method, url }) => derived_value(derived, method, url),
        }
    }
}

impl fmt::Display for Component {
    /// The identifier (`"@method"`), or the bare name when the component is invalid.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.identifier() {
            Ok(identifier) => f.write_str(&identifier),
            Err(_) => f.write_str(self.name()),
        }
    }
}

impl std::str::FromStr for Component {
    type Err = Error;

    fn from_str(identifier: &str) -> Result<Self> {
        Self::parse(identifier)
    }
}

/// The value of a derived request component.
fn derived_value(component: &Component, method: &str, url: &url::Url) -> Result<String> {
    Ok(match component {
        Component::Method => {
            if !is_token(method) {
                return Err(malformed("the request method is not a token"));
            }
            method.to_owned()
        }
        Component::TargetUri => url.as_str().to_owned(),
        Component::Authority => {
            let host = url
                .host_str()
                .ok_or_else(|| not_in_message(component, "the URL has no host"))?
                .to_ascii_lowercase();
            match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            }
        }
        Component::Scheme => url.scheme().to_ascii_lowercase(),
        Component::RequestTarget => {
            let path = path_of(url);
            match url.query() {
                Some(query) => format!("{path}?{query}"),
                None => path.to_owned(),
            }
        }
        Component::Path => path_of(url).to_owned(),
        Component::Query => format!("?{}", url.query().unwrap_or("")),
        Component::QueryParam(name) => query_param_value(component, url, name)?,
        // Handled by `Component::value`.
        Component::Status | Component::Header(_) | Component::Request(_) => {
            return Err(Error::Internal {
                reason: "a non-derived component reached the derived-value code".to_owned(),
            });
        }
    })
}

fn path_of(url: &url::Url) -> &str {
    match url.path() {
        "" => "/",
        path => path,
    }
}

/// RFC 9421 §2.2.8: parse the query as `application/x-www-form-urlencoded` (which decodes `+`
/// and percent-encoding), re-encode each name and value, and return the one value whose encoded
/// name is `name`. A repeated name is refused (the RFC forbids covering it).
fn query_param_value(component: &Component, url: &url::Url, name: &str) -> Result<String> {
    let mut found: Option<String> = None;
    for (raw_name, raw_value) in url.query_pairs() {
        if encode_query_part(&raw_name) != name {
            continue;
        }
        if found.is_some() {
            return Err(malformed("a covered query parameter occurs more than once"));
        }
        found = Some(encode_query_part(&raw_value));
    }
    found.ok_or_else(|| not_in_message(component, "the query parameter is absent"))
}

/// Percent-encodes a decoded query name or value the way RFC 9421 §2.2.8 prints them: the
/// `application/x-www-form-urlencoded` percent-encode set (everything but ASCII alphanumerics and
/// `*-._`), with a space as `%20`. `byte_serialize` writes a space as `+` and a literal `+` as
/// `%2B`, so every `+` in its output is a space.
fn encode_query_part(decoded: &str) -> String {
    url::form_urlencoded::byte_serialize(decoded.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// A message to compute component values from: a request (method, absolute URL, headers) or a
/// response (status, headers, and optionally the request it answers, for `req` components).
#[derive(Debug, Clone)]
pub struct SignableMessage<'a> {
    kind: Kind<'a>,
    headers: &'a [(String, String)],
}

#[derive(Debug, Clone)]
enum Kind<'a> {
    Request {
        method: &'a str,
        url: url::Url,
    },
    Response {
        status: u16,
        request: Option<&'a SignableMessage<'a>>,
    },
}

impl<'a> SignableMessage<'a> {
    /// A request: `method` as sent, `url` absolute (`https://host/path?query`), header fields in
    /// order (a name may repeat).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `url` is not an absolute URL with a host.
    pub fn request(method: &'a str, url: &str, headers: &'a [(String, String)]) -> Result<Self> {
        let mut url = url::Url::parse(url)
            .map_err(|_| Error::invalid_input("the URL is not an absolute URL"))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Error::invalid_input("the URL has no host"));
        }
        // The target URI never has a fragment or user information: neither is sent (the
        // HTTPS client moves user information into an `Authorization` header).
        url.set_fragment(None);
        let _ = url.set_username("");
        let _ = url.set_password(None);
        Ok(Self {
            kind: Kind::Request { method, url },
            headers,
        })
    }

    /// A response with `status` and header fields in order.
    pub fn response(status: u16, headers: &'a [(String, String)]) -> Self {
        Self {
            kind: Kind::Response {
                status,
                request: None,
            },
            headers,
        }
    }

    /// This response, answering `request` (the source of `req` components). No effect on a
    /// request.
    #[must_use]
    pub fn with_request(mut self, request: &'a SignableMessage<'a>) -> Self {
        if let Kind::Response {
            request: related, ..
        } = &mut self.kind
        {
            *related = Some(request);
        }
        self
    }

    /// Whether this is a request.
    pub fn is_request(&self) -> bool {
        matches!(self.kind, Kind::Request { .. })
    }

    /// The request method as sent; `None` for a response.
    pub fn method(&self) -> Option<&'a str> {
        match self.kind {
            Kind::Request { method, .. } => Some(method),
            Kind::Response { .. } => None,
        }
    }

    /// The header fields as given.
    pub fn headers(&self) -> &'a [(String, String)] {
        self.headers
    }

    /// The canonical value of header `name` (RFC 9421 §2.1): every field line with that name
    /// (case-insensitive), each trimmed and with obsolete line folding replaced by a space,
    /// joined with `", "` in order; `None` when there is none.
    ///
    /// # Errors
    /// [`Error::Signature`] with [`SignatureFailure::Malformed`] when a value holds a line break
    /// that is not line folding, or another control character.
    pub fn header_value(&self, name: &str) -> Result<Option<String>> {
        let mut combined: Option<String> = None;
        for (field, value) in self.headers {
            if !field.trim().eq_ignore_ascii_case(name) {
                continue;
            }
            let value = canonical_field_value(value)?;
            match &mut combined {
                None => combined = Some(value),
                Some(all) => {
                    all.push_str(", ");
                    all.push_str(&value);
                }
            }
        }
        Ok(combined)
    }
}

/// One field line's value: obsolete line folding (`OWS CRLF RWS`, or a bare LF) becomes one
/// space, leading and trailing whitespace goes; any other control character but HTAB is refused.
fn canonical_field_value(value: &str) -> Result<String> {
    let mut out = String::with_capacity(value.len());
    for (index, line) in value.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if index > 0 {
            if !line.starts_with([' ', '\t']) {
                return Err(malformed(
                    "a header value holds a line break that is not line folding",
                ));
            }
            let kept = out.trim_end_matches([' ', '\t']).len();
            out.truncate(kept);
            out.push(' ');
            out.push_str(line.trim_start_matches([' ', '\t']));
        } else {
            out.push_str(line);
        }
    }
    if out.chars().any(|c| c.is_ascii_control() && c != '\t') {
        return Err(malformed("a header value holds a control character"));
    }
    Ok(out.trim_matches([' ', '\t']).to_owned())
}

/// An RFC 9110 token (`tchar`s, at least one).
pub(crate) fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn is_lowercase_token(text: &str) -> bool {
    is_token(text) && !text.bytes().any(|b| b.is_ascii_uppercase())
}

fn malformed(reason: impl Into<String>) -> Error {
    Error::signature(SignatureFailure::Malformed, reason)
}

fn not_in_message(component: &Component, why: &str) -> Error {
    let name = component.name();
    let name = if name.len() <= MAX_NAMED {
        name
    } else {
        "a component"
    };
    Error::signature(
        SignatureFailure::ComponentNotInMessage,
        format!("{name} is not in the message: {why}"),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn failure(result: Result<impl fmt::Debug>) -> SignatureFailure {
        match result {
            Err(Error::Signature { failure, .. }) => failure,
            other => panic!("expected a signature error, got {other:?}"),
        }
    }

    #[test]
    fn identifiers_round_trip() {
        let cases = [
            ("\"@method\"", Component::Method),
            ("\"@target-uri\"", Component::TargetUri),
            ("\"@authority\"", Component::Authority),
            ("\"@scheme\"", Component::Scheme),
            ("\"@request-target\"", Component::RequestTarget),
            ("\"@path\"", Component::Path),
            ("\"@query\"", Component::Query),
            ("\"@status\"", Component::Status),
            (
                "\"@query-param\";name=\"fa%C3%A7ade%22%3A%20\"",
                Component::query_param("façade\": "),
            ),
            (
                "\"content-type\"",
                Component::header("Content-Type").unwrap(),
            ),
            ("\"@method\";req", Component::Method.of_request()),
            (
                "\"@query-param\";name=\"a\";req",
                Component::query_param("a").of_request(),
            ),
        ];
        for (text, component) in cases {
            assert_eq!(Component::parse(text).unwrap(), component, "{text}");
            assert_eq!(component.identifier().unwrap(), text);
            assert_eq!(component.to_string(), text);
            assert_eq!(text.parse::<Component>().unwrap(), component);
        }
        // `req=?0` is the flag unset.
        assert_eq!(
            Component::parse("\"@path\";req=?0").unwrap(),
            Component::Path
        );
    }

    #[test]
    fn unsupported_identifiers_are_malformed() {
        let cases = [
            "",
            "@method",
            "method",
            "(\"@method\")",
            "\"@unknown\"",
            "\"@signature-params\"",
            "\"@query-param\"",
            "\"@query-param\";name=1",
            "\"@method\";name=\"x\"",
            "\"Content-Type\"",
            "\"content type\"",
            "\"\"",
            "\"@\"",
            "\"x\";sf",
            "\"x\";key=\"a\"",
            "\"x\";bs",
            "\"x\";tr",
            "\"x\";req=1",
            "\"x\";other",
            "\"@status\";req",
            "\"x\" trailing",
        ];
        for text in cases {
            assert_eq!(
                failure(Component::parse(text)),
                SignatureFailure::Malformed,
                "{text:?}"
            );
        }
        assert!(Component::header("bad name").is_err());
        assert!(Component::Header("Upper".to_owned()).identifier().is_err());
        assert!(
            Component::Method
                .of_request()
                .of_request()
                .identifier()
                .is_err()
        );
    }

    #[test]
    fn derived_components_follow_rfc_9421_section_2_2() {
        let none = headers(&[]);
        let message =
            SignableMessage::request("POST", "https://www.example.com/path?param=value", &none)
                .unwrap();
        let value = |c: Component| c.value(&message).unwrap();
        assert_eq!(value(Component::Method), "POST");
        assert_eq!(
            value(Component::TargetUri),
            "https://www.example.com/path?param=value"
        );
        assert_eq!(value(Component::Authority), "www.example.com");
        assert_eq!(value(Component::Scheme), "https");
        assert_eq!(value(Component::RequestTarget), "/path?param=value");
        assert_eq!(value(Component::Path), "/path");
        assert_eq!(value(Component::Query), "?param=value");

        let odd =
            SignableMessage::request("get", "HTTPS://WWW.Example.COM:443/a%20b/?#frag", &none)
                .unwrap();
        let value = |c: Component| c.value(&odd).unwrap();
        assert_eq!(value(Component::Method), "get");
        assert_eq!(
            value(Component::TargetUri),
            "https://www.example.com/a%20b/?"
        );
        assert_eq!(value(Component::Authority), "www.example.com");
        assert_eq!(value(Component::Scheme), "https");
        assert_eq!(value(Component::RequestTarget), "/a%20b/?");
        assert_eq!(value(Component::Query), "?");

        let port = SignableMessage::request("GET", "https://example.com:8443", &none).unwrap();
        assert_eq!(
            Component::Authority.value(&port).unwrap(),
            "example.com:8443"
        );
        assert_eq!(Component::Path.value(&port).unwrap(), "/");
        assert_eq!(Component::Query.value(&port).unwrap(), "?");
        assert_eq!(Component::RequestTarget.value(&port).unwrap(), "/");
        assert_eq!(
            Component::Authority
                .value(&SignableMessage::request("GET", "http://[::1]:80/", &none).unwrap())
                .unwrap(),
            "[::1]"
        );

        assert_eq!(
            failure(
                Component::Method
                    .value(&SignableMessage::request("GE T", "https://a/", &none).unwrap())
            ),
            SignatureFailure::Malformed
        );
        // User information and fragments are never sent, so never signed.
        let userinfo =
            SignableMessage::request("GET", "https://user:pw@Example.com/p?q#f", &none).unwrap();
        assert_eq!(
            Component::TargetUri.value(&userinfo).unwrap(),
            "https://example.com/p?q"
        );
        assert_eq!(
            Component::Authority.value(&userinfo).unwrap(),
            "example.com"
        );
        assert!(SignableMessage::request("GET", "/relative", &none).is_err());
        assert!(SignableMessage::request("GET", "data:text/plain,x", &none).is_err());
    }

    #[test]
    fn query_params_follow_rfc_9421_section_2_2_8() {
        let none = headers(&[]);
        let message = SignableMessage::request(
            "GET",
            "https://example.com/path?param=value&foo=bar&baz=bat%2Dman&qux=",
            &none,
        )
        .unwrap();
        assert_eq!(
            Component::query_param("baz").value(&message).unwrap(),
            "bat-man"
        );
        assert_eq!(Component::query_param("qux").value(&message).unwrap(), "");
        assert_eq!(
            failure(Component::query_param("missing").value(&message)),
            SignatureFailure::ComponentNotInMessage
        );

        let message = SignableMessage::request(
            "GET",
            "https://example.com/parameters?var=this%20is%20a%20big%0Avalue&bar=with+plus+whitespace&fa%C3%A7ade%22%3A%20=something",
            &none,
        )
        .unwrap();
        assert_eq!(
            Component::query_param("var").value(&message).unwrap(),
            "this%20is%20a%20big%0Avalue"
        );
        assert_eq!(
            Component::query_param("bar").value(&message).unwrap(),
            "with%20plus%20whitespace"
        );
        let facade = Component::query_param("façade\": ");
        assert_eq!(facade.value(&message).unwrap(), "something");
        assert_eq!(
            facade.identifier().unwrap(),
            "\"@query-param\";name=\"fa%C3%A7ade%22%3A%20\""
        );

        let repeated =
            SignableMessage::request("GET", "https://example.com/?a=1&b=2&a=3", &none).unwrap();
        assert_eq!(
            failure(Component::query_param("a").value(&repeated)),
            SignatureFailure::Malformed
        );
        assert_eq!(Component::query_param("b").value(&repeated).unwrap(), "2");
    }

    #[test]
    fn header_values_follow_rfc_9421_section_2_1() {
        let fields = headers(&[
            ("Host", "www.example.com"),
            ("Date", "Tue, 20 Apr 2021 02:07:56 GMT"),
            ("X-OWS-Header", "   Leading and trailing whitespace.   "),
            ("X-Obs-Fold-Header", "Obsolete\r\n    line folding."),
            ("Cache-Control", "max-age=60"),
            ("Cache-Control", "   must-revalidate"),
            ("Example-Dict", " a=1,    b=2;x=1;y=2,   c=(a   b   c)"),
            ("X-Empty-Header", ""),
        ]);
        let message = SignableMessage::request("GET", "https://www.example.com/", &fields).unwrap();
        let value = |name: &str| Component::header(name).unwrap().value(&message).unwrap();
        assert_eq!(value("host"), "www.example.com");
        assert_eq!(value("date"), "Tue, 20 Apr 2021 02:07:56 GMT");
        assert_eq!(value("x-ows-header"), "Leading and trailing whitespace.");
        assert_eq!(value("x-obs-fold-header"), "Obsolete line folding.");
        assert_eq!(value("cache-control"), "max-age=60, must-revalidate");
        assert_eq!(
            value("example-dict"),
            "a=1,    b=2;x=1;y=2,   c=(a   b   c)"
        );
        assert_eq!(value("x-empty-header"), "");
        assert_eq!(
            failure(Component::header("absent").unwrap().value(&message)),
            SignatureFailure::ComponentNotInMessage
        );

        for bad in [
            "a\r\n\"@method\": GET",
            "a\nb",
            "a\rb",
            "a\u{0}b",
            "a\u{7f}b",
        ] {
            let fields = headers(&[("x", bad)]);
            let message = SignableMessage::request("GET", "https://a/", &fields).unwrap();
            assert_eq!(
                failure(Component::header("x").unwrap().value(&message)),
                SignatureFailure::Malformed,
                "{bad:?}"
            );
        }
        let tab = headers(&[("x", "\ta\tb\t")]);
        let message = SignableMessage::request("GET", "https://a/", &tab).unwrap();
        assert_eq!(
            Component::header("x").unwrap().value(&message).unwrap(),
            "a\tb"
        );
    }

    #[test]
    fn responses_have_status_and_req_components() {
        let request_fields = headers(&[("Content-Type", "application/json")]);
        let request =
            SignableMessage::request("POST", "https://example.com/foo?x=1", &request_fields)
                .unwrap();
        let response_fields = headers(&[("Content-Type", "text/plain")]);
        let bare = SignableMessage::response(503, &response_fields);
        let response = bare.clone().with_request(&request);
        assert!(request.is_request() && !response.is_request());
        assert_eq!(Component::Status.value(&response).unwrap(), "503");
        assert_eq!(
            Component::header("content-type")
                .unwrap()
                .value(&response)
                .unwrap(),
            "text/plain"
        );
        let req_type = Component::header("content-type").unwrap().of_request();
        assert_eq!(req_type.value(&response).unwrap(), "application/json");
        assert_eq!(
            Component::Method.of_request().value(&response).unwrap(),
            "POST"
        );
        assert_eq!(
            Component::Path.of_request().value(&response).unwrap(),
            "/foo"
        );

        assert_eq!(
            failure(Component::Method.value(&response)),
            SignatureFailure::ComponentNotInMessage
        );
        assert_eq!(
            failure(Component::Status.value(&request)),
            SignatureFailure::ComponentNotInMessage
        );
        assert_eq!(
            failure(Component::Method.of_request().value(&bare)),
            SignatureFailure::ComponentNotInMessage
        );
        assert_eq!(
            failure(Component::Method.of_request().value(&request)),
            SignatureFailure::Malformed
        );
        // A response "answering" a response has no request components.
        let chained = SignableMessage::response(200, &response_fields).with_request(&bare);
        assert_eq!(
            failure(Component::Method.of_request().value(&chained)),
            SignatureFailure::ComponentNotInMessage
        );
        // `with_request` on a request changes nothing.
        let same = request.clone().with_request(&request);
        assert!(same.is_request());
    }
}

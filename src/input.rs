//! Typed parsing of the text inputs (scenario and trend files in TOML, `--spec` in JSON)
//! with the key of every error.
//!
//! serde reports a type error (`-3` where an unsigned integer belongs, `3.5` where an
//! integer belongs, a string where a number belongs) without saying where in the document
//! it is. [`serde_path_to_error`] tracks the path of keys and indices down to the value
//! being deserialised, and these functions put it into the message as a key path such as
//! `grid.n[0]`: for TOML together with the file, line and column of the value (from the
//! span the `toml` deserializer attaches to its errors), for JSON with the flag.
//!
//! The path omits the internal keys of [`toml::Spanned`] (a spanned value is one key, as
//! written) and stops where serde buffers a value (the fields of an internally tagged enum,
//! such as `family` of a spec, are named by the enum's key).

use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde_path_to_error::{Path, Segment};

/// The prefix of the keys `toml::Spanned` deserialises through (not keys of the document).
const SPANNED_PRIVATE: &str = "$__serde_spanned_private";

/// The key path of `path` as written in the document: `grid.n[0]`, `custom[1].statement`;
/// empty at the top level.
pub(crate) fn key_path(path: &Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } if key.starts_with(SPANNED_PRIVATE) => {}
            Segment::Map { key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    out
}

/// Locates a byte offset as `line N, column C` (1-based).
pub(crate) fn line_col(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {col}")
}

/// Deserialises TOML `text` read from `path` (only used in messages). An error names the
/// file, the line and column where there is a span, and the key path where there is one:
/// `verify/x.toml: line 10, column 6, key `grid.n[0]`: invalid value: integer `-3`, expected
/// usize`.
pub(crate) fn toml_from_str<T: DeserializeOwned>(path: &str, text: &str) -> Result<T> {
    let located = |e: &toml::de::Error, key: &str| {
        let mut location = path.to_string();
        if let Some(span) = e.span() {
            location.push_str(&format!(": {}", line_col(text, span.start)));
        }
        if !key.is_empty() {
            location.push_str(&format!(", key `{key}`"));
        }
        Error::Input { location, message: e.message().trim().to_string() }
    };
    let de = toml::Deserializer::parse(text).map_err(|e| located(&e, ""))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = key_path(e.path());
        located(e.inner(), &key)
    })
}

/// A message prefixed with its key path (`key `seed`: …`), or as it is at the top level.
pub(crate) fn keyed(key: &str, message: impl std::fmt::Display) -> String {
    if key.is_empty() { message.to_string() } else { format!("key `{key}`: {message}") }
}

/// Deserialises a JSON value; an error is `(key path, message)` (the key path is empty at
/// the top level, e.g. for a missing field, which the message names).
pub(crate) fn json_from_value<T: DeserializeOwned>(
    value: &serde_json::Value,
) -> std::result::Result<T, (String, String)> {
    serde_path_to_error::deserialize(value).map_err(|e| (key_path(e.path()), e.inner().to_string()))
}

/// Parses JSON text into a value, refusing a key given twice in one object (serde_json
/// keeps the last silently: `{"x0_sigma": 1, "x0_sigma": 1e9}` would run with `1e9`). The
/// message names the key path and serde_json's line and column.
pub(crate) fn json_value(text: &str) -> std::result::Result<serde_json::Value, String> {
    use serde::de::DeserializeSeed;
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Strict { path: String::new() }.deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(value)
}

/// A JSON value at `path` (for the message about a repeated key).
struct Strict {
    path: String,
}

impl<'de> serde::de::DeserializeSeed<'de> for Strict {
    type Value = serde_json::Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Strict {
    type Value = serde_json::Value;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> std::result::Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_none<E>(self) -> std::result::Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Strict { path: format!("{}[{}]", self.path, out.len()) })? {
            out.push(v);
        }
        Ok(serde_json::Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() { key.clone() } else { format!("{}.{key}", self.path) };
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("key `{path}` is given twice")));
            }
            let v = map.next_value_seed(Strict { path })?;
            out.insert(key, v);
        }
        Ok(serde_json::Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use toml::Spanned;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Grid {
        n: Vec<Spanned<usize>>,
        m: Option<Spanned<usize>>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct File {
        seed: u64,
        grid: Grid,
    }

    fn err(text: &str) -> String {
        toml_from_str::<File>("f.toml", text).expect_err("a type error").to_string()
    }

    #[test]
    fn a_toml_type_error_names_file_line_column_and_key_path() {
        let text = "seed = 1\n[grid]\nn = [4, -3]\n";
        assert_eq!(
            err(text),
            "f.toml: line 3, column 9, key `grid.n[1]`: invalid value: integer `-3`, expected usize",
            "the key path must name the list entry, past the private keys of Spanned"
        );
        let text = "seed = -1\n[grid]\nn = [4]\n";
        assert!(err(text).contains("line 1, column 8, key `seed`"), "{}", err(text));
        let text = "seed = 1\n[grid]\nn = [4]\nm = 2.5\n";
        assert!(err(text).contains("line 4, column 5, key `grid.m`"), "{}", err(text));
    }

    #[test]
    fn a_valid_file_parses_and_a_syntax_error_has_no_key() {
        let f: File = toml_from_str("f.toml", "seed = 1\n[grid]\nn = [4]\n").expect("valid");
        assert_eq!((f.seed, *f.grid.n[0].get_ref()), (1, 4));
        let e = err("seed = \n");
        assert!(e.starts_with("f.toml: line 1") && !e.contains("key"), "{e}");
    }

    /// A key given twice is refused, at any depth, naming its path; controls: the same
    /// documents without the repetition parse to what serde_json gives, and the same key in
    /// two different objects is no repetition.
    #[test]
    fn a_json_key_given_twice_is_refused() {
        let e = json_value(r#"{"x0_sigma": 1.0, "m": 3, "x0_sigma": 1e9}"#).expect_err("x0_sigma twice");
        assert!(e.contains("key `x0_sigma` is given twice") && e.contains("line 1"), "{e}");
        let e = json_value(r#"{"spec": {"family": {"delta": 1, "delta": 2}}}"#).expect_err("nested");
        assert!(e.contains("key `spec.family.delta` is given twice"), "{e}");
        let e = json_value(r#"[{"a": 1}, {"a": 1, "a": 1}]"#).expect_err("in a list");
        assert!(e.contains("key `[1].a` is given twice"), "{e}");
        for ok in
            [r#"{"x0_sigma": 1.0, "m": 3, "f": [1, -2, 2.5, true, null, "s"]}"#, r#"{"a": {"b": 1}, "c": {"b": 2}}"#]
        {
            assert_eq!(json_value(ok).expect("valid"), serde_json::from_str::<serde_json::Value>(ok).unwrap(), "{ok}");
        }
        assert!(json_value(r#"{"a": 1} x"#).is_err(), "trailing characters");
    }

    #[test]
    fn a_json_error_names_the_key() {
        let v: serde_json::Value = serde_json::from_str(r#"{"seed": 1.5, "grid": {"n": [1]}}"#).unwrap();
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct J {
            seed: u64,
        }
        let (key, message) = json_from_value::<J>(&v).expect_err("1.5 is not a u64");
        assert_eq!(key, "seed");
        assert!(message.contains("1.5"), "{message}");
    }
}

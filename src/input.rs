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

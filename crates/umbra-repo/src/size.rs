//! Sizes as restic's flags take them (`--exclude-larger-than 10M`, a job's
//! `exclude_larger_than`, a fixed chunk size): one parser, so that every place reads
//! `2.5MiB` the same way.

use umbra_core::{ErrorKind, Result, UmbraError};

/// A size as restic's flags take it: `500`, `10K`, `2.5MiB`, `1G` (K, M, G, T are powers
/// of 1024, as in restic; a trailing `B` or `iB` is allowed).
pub fn parse_size(text: &str) -> Result<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let unit = unit.trim().to_ascii_uppercase();
    let unit = unit.trim_end_matches('B').trim_end_matches('I');
    let factor: u64 = match unit {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => 0,
    };
    match number.parse::<f64>() {
        Ok(n) if factor > 0 && n >= 0.0 && n.is_finite() =>
        {
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            Ok((n * factor as f64) as u64)
        }
        _ => Err(
            UmbraError::new(ErrorKind::InvalidInput, format!("`{text}` is not a size"))
                .with_hint("Write a number with an optional unit: 500, 10K, 2.5M, 1G, 1T."),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_as_restic_reads_them() {
        assert_eq!(parse_size("500").ok(), Some(500));
        assert_eq!(parse_size("10K").ok(), Some(10 << 10));
        assert_eq!(parse_size("2.5MiB").ok(), Some(5 << 19));
        assert_eq!(parse_size("1G").ok(), Some(1 << 30));
        assert_eq!(parse_size("1 gb").ok(), Some(1 << 30));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5X").is_err());
    }
}

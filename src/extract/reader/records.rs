//! The records of a CSV body as the readers number them, for the steps
//! that read a few records again (each job centre's rejected rows) or read
//! small files without polars (linked files): a line break inside quotes
//! does not end a record; a blank line is one.

/// The records of a CSV body, each without its line break.
pub fn records(body: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    let mut quoted = false;
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < body.len() {
            let byte = body[at];
            at += 1;
            if byte == b'"' {
                quoted = !quoted;
            } else if byte == b'\n' && !quoted {
                let record = &body[start..at - 1];
                start = at;
                return Some(record.strip_suffix(b"\r").unwrap_or(record));
            }
        }
        (start < body.len()).then(|| {
            let record = &body[start..];
            start = body.len();
            record
        })
    })
}

/// The fields of one record, quotes removed as the csv crate removes them;
/// a blank record, or bytes the csv crate cannot split, is one field.
pub fn fields(record: &[u8], separator: u8) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator)
        .has_headers(false)
        .flexible(true)
        .from_reader(record);
    let mut found = csv::StringRecord::new();
    match reader.read_record(&mut found) {
        Ok(true) => found.iter().map(String::from).collect(),
        _ => vec![String::from_utf8_lossy(record).into_owned()],
    }
}

#[cfg(test)]
mod tests {
    use super::{fields, records};

    #[test]
    fn records_end_at_line_breaks_outside_quotes_and_blank_lines_count() {
        let body = b"a;1\r\n\"b\nc\";2\n\nd;3";
        let found: Vec<&[u8]> = records(body).collect();
        assert_eq!(found, vec![&b"a;1"[..], b"\"b\nc\";2", b"", b"d;3"]);
        assert_eq!(records(b"a;1\n").count(), 1);
        assert_eq!(fields(b"\"b\nc\";2", b';'), ["b\nc", "2"]);
        assert_eq!(fields(b"", b';'), [""]);
    }
}

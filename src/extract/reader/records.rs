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

/// The fields of one record, quotes removed as the csv crate removes them
/// (a quote opens a quoted field only at its start; `""` inside one is a
/// quote; after the closing quote the rest of the field is kept as it is).
/// One state machine for the whole record: a csv reader per record builds
/// its automaton each time, which cost more than the rest of a load.
pub fn fields(record: &[u8], separator: u8) -> Vec<String> {
    #[derive(PartialEq)]
    enum State {
        Start,
        Plain,
        Quoted,
        QuoteInQuoted,
    }
    let mut fields = Vec::new();
    let mut field: Vec<u8> = Vec::new();
    let mut state = State::Start;
    for &byte in record {
        state = match (state, byte) {
            (State::Quoted, b'"') => State::QuoteInQuoted,
            (State::Quoted, _) => {
                field.push(byte);
                State::Quoted
            }
            (State::QuoteInQuoted, b'"') => {
                field.push(b'"');
                State::Quoted
            }
            (_, b) if b == separator => {
                fields.push(String::from_utf8_lossy(&field).into_owned());
                field.clear();
                State::Start
            }
            (State::Start, b'"') => State::Quoted,
            _ => {
                field.push(byte);
                State::Plain
            }
        };
    }
    fields.push(String::from_utf8_lossy(&field).into_owned());
    fields
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

    #[test]
    fn fields_split_as_the_csv_crate_splits_them() {
        let cases: [&[u8]; 9] = [
            b"a;b;c",
            b"\"a;b\";c",
            b"\"a\"\"b\";c",
            b"a\"b;c",
            b"\"a\"b;c",
            b";;",
            b"\"\";x",
            b"\"multi\nline\";2",
            b" \"a\" ;b",
        ];
        for case in cases {
            let mut reader = csv::ReaderBuilder::new()
                .delimiter(b';')
                .has_headers(false)
                .flexible(true)
                .from_reader(case);
            let mut expected = csv::StringRecord::new();
            reader.read_record(&mut expected).unwrap();
            let expected: Vec<String> = expected.iter().map(String::from).collect();
            assert_eq!(fields(case, b';'), expected, "{}", String::from_utf8_lossy(case));
        }
    }
}

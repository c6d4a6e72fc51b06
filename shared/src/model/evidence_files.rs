//! The files of an evidence package and the zip that holds them (`docs/evidence.md` lists
//! every file and its columns). Each table is written twice, as RFC 4180 CSV a spreadsheet
//! opens safely and as a JSON array of the same rows; every file's SHA-256 is taken as it
//! is added, for the manifest. Pure: the builder reads the records and hands them here.

use std::io::{Cursor, Read, Write};

use serde::Serialize;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::error::{ApiError, ApiResult};
use crate::model::audit_digest::sha256_hex;
use crate::model::csv_cells::neutralise;
use crate::model::evidence_packages::PackageFile;

/// One row of a package's table: its JSON form is the struct (camelCase, the same names
/// as `COLUMNS`), its CSV form the cells in `COLUMNS` order.
pub trait EvidenceRow: Serialize {
    const COLUMNS: &'static [&'static str];
    fn cells(&self) -> Vec<String>;
}

fn zip_failed(error: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("writing the evidence package: {error}"))
}

/// A package being written, in memory: the builder's function has the memory for an
/// organization's populations (`docs/evidence.md`, "Scale").
pub struct PackageWriter {
    zip: ZipWriter<Cursor<Vec<u8>>>,
    files: Vec<PackageFile>,
}

impl Default for PackageWriter {
    fn default() -> Self {
        PackageWriter::new()
    }
}

impl PackageWriter {
    pub fn new() -> Self {
        PackageWriter {
            zip: ZipWriter::new(Cursor::new(Vec::new())),
            files: Vec::new(),
        }
    }

    /// `<path>.csv` and `<path>.json`.
    pub fn table<Row: EvidenceRow>(&mut self, path: &str, rows: &[Row]) -> ApiResult<()> {
        let mut csv = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        csv.write_record(Row::COLUMNS).map_err(zip_failed)?;
        for row in rows {
            csv.write_record(row.cells().into_iter().map(neutralise))
                .map_err(zip_failed)?;
        }
        let csv = csv.into_inner().map_err(|error| zip_failed(error.error()))?;
        let rows_written = Some(rows.len() as u64);
        self.file(&format!("{path}.csv"), &csv, rows_written)?;
        let mut json = serde_json::to_vec_pretty(rows).map_err(zip_failed)?;
        json.push(b'\n');
        self.file(&format!("{path}.json"), &json, rows_written)
    }

    /// A JSON document, pretty-printed.
    pub fn json(&mut self, name: &str, value: &impl Serialize) -> ApiResult<()> {
        let mut json = serde_json::to_vec_pretty(value).map_err(zip_failed)?;
        json.push(b'\n');
        self.file(name, &json, None)
    }

    pub fn file(&mut self, name: &str, bytes: &[u8], rows: Option<u64>) -> ApiResult<()> {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .large_file(bytes.len() as u64 >= u64::from(u32::MAX));
        self.zip.start_file(name, options).map_err(zip_failed)?;
        self.zip.write_all(bytes).map_err(zip_failed)?;
        self.files.push(PackageFile {
            name: name.to_string(),
            sha256: sha256_hex(bytes),
            bytes: bytes.len() as u64,
            rows,
        });
        Ok(())
    }

    /// The files added so far, as the manifest lists them.
    pub fn files(&self) -> &[PackageFile] {
        &self.files
    }

    /// The zip's bytes.
    pub fn finish(self) -> ApiResult<Vec<u8>> {
        Ok(self.zip.finish().map_err(zip_failed)?.into_inner())
    }
}

/// Every file of a zip by name, read back (a verifier's and a test's view).
pub fn read_package(bytes: &[u8]) -> ApiResult<Vec<(String, Vec<u8>)>> {
    let unreadable =
        |error: zip::result::ZipError| ApiError::validation("package", format!("not a readable zip: {error}"));
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(unreadable)?;
    let mut files = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).map_err(unreadable)?;
        let name = file.name().map_err(unreadable)?.to_string();
        let mut content = Vec::with_capacity(usize::try_from(file.size()).unwrap_or(0));
        file.read_to_end(&mut content)
            .map_err(|error| ApiError::validation("package", format!("{name} is unreadable: {error}")))?;
        files.push((name, content));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Example {
        user_id: String,
        note: String,
    }

    impl EvidenceRow for Example {
        const COLUMNS: &'static [&'static str] = &["userId", "note"];
        fn cells(&self) -> Vec<String> {
            vec![self.user_id.clone(), self.note.clone()]
        }
    }

    #[test]
    fn a_table_is_written_as_csv_and_json_with_the_hash_of_each() {
        let mut writer = PackageWriter::new();
        let rows = [
            Example {
                user_id: "usr_1".into(),
                note: "=HYPERLINK(\"x\")".into(),
            },
            Example {
                user_id: "usr_2".into(),
                note: "two, \"quoted\"\nlines".into(),
            },
        ];
        writer.table("people", &rows).unwrap();
        let listed = writer.files().to_vec();
        let files = read_package(&writer.finish().unwrap()).unwrap();
        assert_eq!(
            files.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>(),
            ["people.csv", "people.json"]
        );
        for ((name, bytes), entry) in files.iter().zip(&listed) {
            assert_eq!(&entry.name, name);
            assert_eq!(entry.sha256, sha256_hex(bytes));
            assert_eq!(entry.bytes, bytes.len() as u64);
            assert_eq!(entry.rows, Some(2));
        }
        let mut reader = csv::Reader::from_reader(files[0].1.as_slice());
        assert_eq!(reader.headers().unwrap(), vec!["userId", "note"]);
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(&records[0][1], "'=HYPERLINK(\"x\")", "a formula is neutralised");
        assert_eq!(&records[1][1], "two, \"quoted\"\nlines");
        let json: serde_json::Value = serde_json::from_slice(&files[1].1).unwrap();
        assert_eq!(json[1]["userId"], "usr_2");
        assert_eq!(json[0]["note"], "=HYPERLINK(\"x\")", "JSON keeps the value as it is");
    }

    #[test]
    fn a_zip_that_is_not_one_is_refused() {
        assert!(read_package(b"not a zip").is_err());
    }
}

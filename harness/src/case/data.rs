//! TEMPORARY STUB (replaced by the generated data sets).
#![allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataSet {
    Json,
    Image,
    Text,
    Html,
    Pdf,
}
impl DataSet {
    pub const ALL: [DataSet; 5] = [DataSet::Json, DataSet::Image, DataSet::Text, DataSet::Html, DataSet::Pdf];
    pub fn name(self) -> &'static str {
        match self {
            DataSet::Json => "json",
            DataSet::Image => "image",
            DataSet::Text => "text",
            DataSet::Html => "html",
            DataSet::Pdf => "pdf",
        }
    }
    pub fn parse(name: &str) -> Option<DataSet> {
        DataSet::ALL.into_iter().find(|d| d.name() == name)
    }
    pub fn is_text(self) -> bool {
        matches!(self, DataSet::Json | DataSet::Html)
    }
    pub fn describe(self) -> String {
        self.name().to_string()
    }
    pub fn bytes(self) -> &'static [u8] {
        b"{\"stub\": [1, 2, 3], \"more\": \"data data data data\"}\n"
    }
}
#[derive(Debug, Clone)]
pub struct DataCursor {
    set: DataSet,
    len: usize,
    at: usize,
}
impl DataCursor {
    pub fn new(set: DataSet, len: usize) -> DataCursor {
        DataCursor { set, len, at: 0 }
    }
    pub fn next_into(&mut self, out: &mut Vec<u8>) {
        out.clear();
        let b = self.set.bytes();
        for _ in 0..self.len {
            out.push(b[self.at]);
            self.at = (self.at + 1) % b.len();
        }
    }
}

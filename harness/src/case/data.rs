//! The payload sets of the permessage-deflate cases (Autobahn 12.x/13.x), generated rather than shipped.
//!
//! Autobahn|Testsuite slices those cases' messages from five files it ships (a JSON file, a photo as a
//! BMP, Goethe's Faust, an HTML page, a PDF). We ship none of them: each set here is generated from a fixed
//! seed by a PRNG of our own (splitmix64), so it is the same bytes on every machine and run, made once per
//! process on first use (a few milliseconds for all five in release). Each set has a similar character for
//! DEFLATE: structure, repetition and compression ratio (the tests check the ratios at level 6), and about
//! its original's size, each a multiple of 64 KiB (192, 256, 224, 256 KiB and 1 MiB for 194,056, 263,222,
//! 222,218, 263,647 and 1,042,328 bytes), so that a cursor of Autobahn's sizes (powers of two) comes back to the same
//! offsets after a few messages and a compressor without context takeover can replay its output
//! (`conformance::messages`); the image is a 512x509 BMP of 256 KiB (Autobahn's is 512x512, 263,222 bytes).

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::OnceLock;

/// A payload set of the permessage-deflate cases, generated deterministically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataSet {
    /// Pretty-printed JSON records (Autobahn's 194,056-byte JSON file); DEFLATE ratio about 7:1.
    Json,
    /// A 512x509 8-bit grayscale BMP of a smooth, grainy synthetic photo (Autobahn's Lena, 512x512); about 1.2:1.
    Image,
    /// German-like verse drama in ASCII (Autobahn's Faust, sent as binary); about 2.8:1.
    Text,
    /// An HTML page of navigation, articles, links, lists and tables (Autobahn's HTML page); about 4.5:1.
    Html,
    /// A PDF of dictionaries around compressed-looking streams (Autobahn's PDF); nearly incompressible.
    Pdf,
}

impl DataSet {
    /// Every set, in Autobahn's order (12.1 .. 12.5): Json, Image, Text, Html, Pdf.
    pub const ALL: [DataSet; 5] = [DataSet::Json, DataSet::Image, DataSet::Text, DataSet::Html, DataSet::Pdf];

    /// The name used in case files: "json", "image", "text", "html", "pdf".
    pub fn name(self) -> &'static str {
        self.info().0
    }

    /// Parses a case-file name (the names above); None otherwise.
    pub fn parse(name: &str) -> Option<DataSet> {
        DataSet::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Whether Autobahn sends this set as text messages (Json and Html: true; Image, Text, Pdf: false —
    /// Faust is sent as binary by Autobahn).
    pub fn is_text(self) -> bool {
        matches!(self, DataSet::Json | DataSet::Html)
    }

    /// One line describing the set and its size, for reports.
    pub fn describe(self) -> String {
        let (name, size, what, _) = self.info();
        let kind = if self.is_text() { "text" } else { "binary" };
        format!("{name}: {size} bytes of {what} (generated), sent as {kind} messages")
    }

    /// The bytes of the set (generated on first use). Text sets are pure ASCII, so any byte slice of them
    /// is valid UTF-8.
    pub fn bytes(self) -> &'static [u8] {
        static SETS: [OnceLock<Vec<u8>>; 5] = [const { OnceLock::new() }; 5];
        // ok: five cells, one per variant, whose discriminants are 0..5
        SETS[self as usize].get_or_init(|| self.generate())
    }

    /// The set's [`Info`].
    fn info(self) -> Info {
        const INFO: [Info; 5] = [
            ("json", 196_608, "pretty-printed JSON records", json),
            ("image", 262_144, "512x509 8-bit grayscale BMP of a synthetic photo", image),
            ("text", 229_376, "German-like verse drama in ASCII", text),
            ("html", 262_144, "HTML page with navigation, articles, lists and tables", html),
            ("pdf", 1_048_576, "PDF of compressed-looking streams", pdf),
        ];
        INFO[self as usize] // ok: one entry per variant, whose discriminants are 0..5
    }

    /// Generates the set from scratch (what [`DataSet::bytes`] caches).
    fn generate(self) -> Vec<u8> {
        let (_, size, _, make) = self.info();
        make(size)
    }
}

/// A set's name, size (the original file's, matched exactly), description and generator.
type Info = (&'static str, usize, &'static str, fn(usize) -> Vec<u8>);

/// Walks a set the way Autobahn does: each message is the next `len` bytes, wrapping around to the start.
///
/// Autobahn (`sendOne` in `case12_x_x.py`) sends `data[ptr:to]`, or `data[ptr:] + data[:to]` when `to` is
/// not past `ptr`, with `to = (ptr + len) % total`. For 1 ≤ len ≤ total that is exactly the next `len` bytes
/// cyclically, which is what this cursor sends for every `len`. The two differ only where Autobahn's
/// expression degenerates, at sizes its cases never use (they send 16 to 131072 bytes, and every set is
/// larger): len 0 (Autobahn sends the whole set, we send nothing) and len > total (Autobahn sends
/// `len % total` bytes, or the whole set when `len` is a multiple of total; we go round the set as often
/// as needed to send `len` bytes).
#[derive(Debug, Clone)]
pub struct DataCursor {
    set: DataSet,
    len: usize,
    at: usize,
}

impl DataCursor {
    /// A cursor at the start of `set` that sends `len` bytes per message.
    pub fn new(set: DataSet, len: usize) -> DataCursor {
        DataCursor { set, len, at: 0 }
    }

    /// The next message's payload (len bytes; empty when len is 0), appended to `out` after clearing it.
    pub fn next_into(&mut self, out: &mut Vec<u8>) {
        out.clear();
        out.reserve(self.len);
        let data = self.set.bytes();
        while out.len() < self.len && !data.is_empty() {
            let take = (self.len - out.len()).min(data.len() - self.at);
            // ok: `at` < data.len() (the modulo below) and take ≤ data.len() - at
            out.extend_from_slice(&data[self.at..self.at + take]);
            self.at = (self.at + take) % data.len();
        }
    }
}

/// splitmix64: tiny, fast and fixed forever, unlike an external crate's algorithm.
struct Rng(u64);

impl Rng {
    fn new(stream: u64) -> Rng {
        Rng(0x5EED_DA7A_0000_0000 ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let z = (self.0 ^ (self.0 >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n < 2^32; 0 when n is 0).
    fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }

    /// One item of a '|'-separated list.
    fn pick(&mut self, list: &'static str) -> &'static str {
        let n = list.split('|').count();
        list.split('|').nth(self.below(n)).unwrap_or_default()
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// German vocabulary (umlauts transliterated), most frequent first: drawn with a Zipf-like law.
const WORDS: &str = "und die der ich das nicht ein zu du sich mir es ist mich in den mit so sie er dich was wie \
    auf dem wir ihr mein wohl von sein nur hat ach an als auch da doch wenn dir noch man ja wird hier \
    kann nun bin ins nach will um schon dein aus muss gar wo des eine einen mag fort nie nichts alles \
    denn bist sind hab herz welt geist himmel nacht liebe gott teufel erde blut seele leben tag zeit \
    menschen freund mutter kind haus licht feuer wasser wald berg traum wort tat kraft natur wissen buch \
    lust schmerz glueck augen hand brust sinn stunde ruhe schoen gross klein alt jung hoch tief dunkel \
    hell ewig heilig selig frei still wild suess bitter lieb arm reich fromm kuehn sehen gehen kommen \
    stehen sprechen fuehlen lieben leben sterben finden halten bringen geben nehmen tragen ziehen \
    schaffen wirken streben irren ringen singen klingen schweben sinken steigen fliegen brennen \
    glauben hoffen fragen sagen rufen hoeren schauen wandeln weichen bleiben werden zeigen lehren \
    wohnen ruhen fluestern zittern beben gewiss immer wieder heute morgen einst bald nimmer ueberall \
    oben unten draussen drinnen zusammen allein gern kaum recht schier fast ganz sehr lange geschwind \
    gestalt schatten stimme lied klang morgenrot abendrot sonne mond sterne wolken wind sturm regen \
    quelle strom meer flut felsen hoehle garten kerker strasse kirche brunnen fenster tuer schwelle \
    kammer becher wein trank gift gold schatz krone schwert ring schleier kranz rose lilie \
    gretchen faust fraeulein doktor schueler meister herr frau bruder schwester nachbar hexe engel";
/// Endings that stand in for German inflection, so that a few hundred stems give many word forms.
const ENDINGS: &str = "||||e|en|er|es|n|st|t|te|ten|em|ern|lich";
const SPEAKERS: &str = "FAUST|MEPHISTOPHELES|MARGARETE|WAGNER|MARTHE|SCHUELER|CHOR DER ENGEL|VALENTIN|LIESCHEN|\
    DIE HEXE|ERDGEIST|SIEBEL|FROSCH|ALTMAYER|BRANDER|BOESER GEIST";
const PLACES: &str = "Nacht|Studierzimmer|Strasse|Garten|Wald und Hoehle|Kerker|Dom|Vor dem Tor|Hexenkueche|\
    Am Brunnen|Marthens Garten|Abend|Zwinger|Walpurgisnacht";
const FIRST: &str = "Anna|Ben|Clara|David|Emma|Felix|Greta|Hugo|Ida|Jonas|Karla|Leon|Mia|Noah|Olga|Paul|Rosa|\
    Simon|Tara|Uwe|Vera|Willi|Xenia|Yusuf";
const LAST: &str = "Schmidt|Miller|Garcia|Novak|Rossi|Kowalski|Jensen|Dubois|Tanaka|Silva|Meyer|Brown|Nguyen|\
    Larsen|Moreau|Fischer|Weber|Khan|Costa|Olsen";
const STREETS: &str = "Main Street|Oak Avenue|Lindenweg|Hauptstrasse|Mill Lane|Park Road|Bahnhofstrasse|\
    Elm Street|Rue de la Paix|Via Roma|Harbour View|Station Road";
const CITIES: &str = "Berlin|Hamburg|Munich|Vienna|Zurich|Paris|Lyon|Rome|Madrid|Lisbon|Oslo|Prague|Warsaw|\
    London|Dublin|Boston";
const TAGS: &str = "admin|beta|customer|developer|editor|guest|premium|support|tester|vip|newsletter|partner|\
    trial|legacy|mobile|enterprise";
const DOMAINS: &str = "example.com|example.org|mail.example.net|corp.example";
const MENU: &str = "Start|Archiv|Themen|Autoren|Galerie|Termine|Kontakt|Impressum";

/// Draws words by rank with weights 1 / (rank + 2)^0.95, from cumulative weights.
struct Zipf {
    words: Vec<&'static str>,
    cum: Vec<u64>,
}

impl Zipf {
    fn new() -> Zipf {
        let words: Vec<&'static str> = WORDS.split_whitespace().collect();
        let weight = |r: usize| (1e7 / (r as f64 + 2.0).powf(0.95)) as u64;
        let cum = (0..words.len()).map(|r| (0..=r).map(weight).sum()).collect(); // O(n²), n ≈ 300
        Zipf { words, cum }
    }

    /// A word: past the 60 most frequent ones, sometimes capitalized (a noun) and inflected.
    fn word(&self, rng: &mut Rng, out: &mut String) {
        let x = rng.next() % self.cum.last().copied().unwrap_or(1);
        let rank = self.cum.partition_point(|&c| c <= x);
        let word = self.words.get(rank).copied().unwrap_or_default();
        let from = out.len();
        out.push_str(word);
        if rank > 60 {
            if rng.chance(30) {
                capitalize(out, from);
            }
            out.push_str(rng.pick(ENDINGS));
        }
    }

    /// A sentence of `min` to `min + spread - 1` words: capitalized, maybe a comma, ended by `end`.
    fn sentence(&self, rng: &mut Rng, min: usize, spread: usize, end: &str, out: &mut String) {
        let (from, n) = (out.len(), min + rng.below(spread));
        for i in 0..n {
            if i > 0 {
                out.push_str(if i == n / 2 && rng.chance(40) { ", " } else { " " });
            }
            self.word(rng, out);
        }
        capitalize(out, from);
        out.push_str(end);
    }
}

/// Upper-cases the ASCII letter at byte `at` of `s`, if there is one.
fn capitalize(s: &mut str, at: usize) {
    if let Some(c) = s.get_mut(at..at + 1) {
        c.make_ascii_uppercase();
    }
}

/// Appends units while they fit in `limit` bytes; stops at the first that does not.
fn fill(out: &mut String, limit: usize, mut unit: impl FnMut(&mut String)) {
    let mut buf = String::new();
    while out.len() + buf.len() <= limit {
        out.push_str(&buf);
        buf.clear();
        unit(&mut buf);
    }
}

/// Pads `out` with spaces to `at` bytes, then appends `tail`.
fn pad(mut out: String, at: usize, tail: &str) -> Vec<u8> {
    while out.len() < at {
        out.push(' ');
    }
    out.push_str(tail);
    out.into_bytes()
}

/// Pretty-printed JSON: an array of user records with repeated keys and varied values.
fn json(size: usize) -> Vec<u8> {
    let (mut rng, mut id, tail) = (Rng::new(1), 1000, "\n]\n");
    let mut out = String::from("[");
    fill(&mut out, size - tail.len(), |s| {
        id += 1 + rng.below(3);
        json_record(&mut rng, id, s);
    });
    out.pop(); // the last record's comma
    pad(out, size - tail.len(), tail)
}

/// One record, with a comma after it.
fn json_record(rng: &mut Rng, id: usize, s: &mut String) {
    let (first, last, domain) = (rng.pick(FIRST), rng.pick(LAST), rng.pick(DOMAINS));
    let email = format!("{first}.{last}@{domain}").to_ascii_lowercase();
    let _ = write!(s, "\n  {{\n    \"id\": {id},\n    \"name\": \"{first} {last}\",\n    \"email\": \"{email}\",\n");
    s.push_str("    \"tags\": [");
    for i in 0..1 + rng.below(3) {
        let _ = write!(s, "{}\"{}\"", if i > 0 { ", " } else { "" }, rng.pick(TAGS));
    }
    let (active, score, milli) = (rng.chance(70), rng.below(100), rng.below(1000));
    let _ = writeln!(s, "],\n    \"active\": {active},\n    \"score\": {score}.{milli:03},");
    let (d, t) = (rng.below(4000), rng.below(86_400));
    let (year, month, day, h, m, sec) = (10 + d / 365 % 10, 1 + d % 12, 1 + d % 28, t / 3600, t / 60 % 60, t % 60);
    let _ = writeln!(s, "    \"created\": \"20{year}-{month:02}-{day:02}T{h:02}:{m:02}:{sec:02}Z\",");
    let (number, street, city, zip) =
        (1 + rng.below(200), rng.pick(STREETS), rng.pick(CITIES), 10_000 + rng.below(90_000));
    let _ = write!(
        s,
        "    \"address\": {{\n      \"street\": \"{number} {street}\",\n      \"city\": \"{city}\",\n      \
        \"zip\": \"{zip}\"\n    }}\n  }},"
    );
}

/// An 8-bit grayscale BMP 512 pixels wide, as many rows as `size` holds (a gap of zeros before the pixels
/// makes up the rest): smooth low-frequency shapes plus a little grain.
fn image(size: usize) -> Vec<u8> {
    const W: usize = 512;
    const HEADERS: usize = 54 + 256 * 4;
    let height = size.saturating_sub(HEADERS) / W;
    let offset = size - height * W;
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(b"BM");
    let (w, h) = (W as u32, height as u32);
    let header = [size as u32, 0, offset as u32, 40, w, h, 1 | 8 << 16, 0, w * h, 2835, 2835, 256, 256];
    // file size, reserved, pixels' offset; info header: its size, width, height, 1 plane and 8 bits, no
    // compression, pixels' size, 72 dpi both ways, palette size, all of it important
    for v in header {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for g in 0..=255u8 {
        out.extend_from_slice(&[g, g, g, 0]);
    }
    out.resize(offset, 0);
    let turn = std::f32::consts::TAU / W as f32;
    let wave = |n: usize, parts: &[(f32, f32, f32)]| -> Vec<f32> {
        (0..n).map(|i| parts.iter().map(|&(a, f, p)| a * (i as f32 * f * turn + p).sin()).sum()).collect()
    };
    let blob =
        |c: f32, w: f32| -> Vec<f32> { (0..W).map(|i| (-((i as f32 / W as f32 - c) / w).powi(2)).exp()).collect() };
    let cols = wave(W, &[(38.0, 0.7, 0.3), (14.0, 3.1, 1.0), (6.0, 11.0, 2.0)]);
    let rows = wave(height, &[(30.0, 0.9, 2.1), (12.0, 4.3, 0.5), (5.0, 13.0, 1.3)]);
    let diag = wave(W + height, &[(16.0, 1.6, 0.8), (5.0, 7.0, 0.1)]);
    let (bx, by) = (blob(0.55, 0.17), blob(0.48, 0.22));
    let mut rng = Rng::new(2);
    for (y, (&r, &gy)) in rows.iter().zip(&by).enumerate() {
        for (x, (&c, &gx)) in cols.iter().zip(&bx).enumerate() {
            let n = rng.next();
            let grain = (n & 7) as f32 + ((n >> 8) & 7) as f32 - 7.0;
            // ok: x + y < W + height, the length of diag
            let v = 118.0 + c + r + diag[x + y] + 60.0 * gx * gy + grain;
            out.push(v.clamp(0.0, 255.0) as u8);
        }
    }
    out
}

/// A verse drama: scene headings, speakers in capitals, short verse lines, stage directions.
fn text(size: usize) -> Vec<u8> {
    let (mut rng, zipf) = (Rng::new(3), Zipf::new());
    let mut out = String::from("Der Tragoedie erster Teil\n\n");
    while out.len() < size {
        if rng.chance(6) {
            let _ = write!(out, "\n\n{}\n\n", rng.pick(PLACES));
        }
        let _ = write!(out, "\n{}:\n", rng.pick(SPEAKERS));
        if rng.chance(15) {
            out.push('(');
            zipf.sentence(&mut rng, 3, 6, ".)\n", &mut out);
        }
        for _ in 0..1 + rng.below(9) {
            let end = rng.pick(",\n|.\n|!\n|?\n|;\n|\n");
            zipf.sentence(&mut rng, 3, 6, end, &mut out);
        }
    }
    out.truncate(size);
    out.into_bytes()
}

/// An HTML page: head and style, navigation repeated, articles with links, lists and tables, footer links.
fn html(size: usize) -> Vec<u8> {
    let (mut rng, zipf) = (Rng::new(4), Zipf::new());
    let mut out = String::from("<!DOCTYPE html>\n<html lang=\"de\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<title>Archiv</title>\n<link rel=\"stylesheet\" href=\"/static/css/main.css\">\n<style>\n");
    for c in ["page", "nav", "article", "meta", "content", "sidebar", "footer", "data", "list"] {
        let _ = writeln!(out, ".{c} {{ margin: 0 auto; padding: 4px 8px; font-family: Georgia, serif; }}");
    }
    out.push_str("</style>\n</head>\n<body>\n<div class=\"page\">\n");
    let mut nav = String::from("<div class=\"nav\">\n<ul class=\"menu\">\n");
    for item in MENU.split('|') {
        let href = item.to_lowercase();
        let _ = writeln!(nav, "<li class=\"menu-item\"><a href=\"/{href}/\" title=\"{item}\">{item}</a></li>");
    }
    nav.push_str("</ul>\n</div>\n");
    let (footer, tail) = ("<div class=\"footer\">\n<ul>\n", "</ul>\n</div>\n</div>\n</body>\n</html>\n");
    let mut n = 0;
    fill(&mut out, size - footer.len() - tail.len(), |s| {
        n += 1;
        if n % 6 == 1 {
            s.push_str(&nav);
        }
        html_article(&mut rng, &zipf, n, s);
    });
    out.push_str(footer);
    fill(&mut out, size - tail.len(), |s| {
        let _ = write!(s, "<li><a href=\"/themen/{}.html\">", rng.below(500));
        zipf.sentence(&mut rng, 1, 3, "</a></li>\n", s);
    });
    pad(out, size - tail.len(), tail)
}

/// One article: a linked title, a byline, paragraphs with links, maybe a list and a table.
fn html_article(rng: &mut Rng, zipf: &Zipf, n: usize, s: &mut String) {
    let year = 2005 + rng.below(10);
    let _ = write!(s, "<div class=\"article\" id=\"post-{n}\">\n<h2><a href=\"/archiv/{year}/{n}.html\">");
    zipf.sentence(rng, 3, 4, "</a></h2>\n", s);
    let (first, last, day, month, year) = (rng.pick(FIRST), rng.pick(LAST), 1 + rng.below(28), 1 + rng.below(12), year);
    let _ = writeln!(
        s,
        "<p class=\"meta\">Von <a href=\"/autoren/{}\">{first} {last}</a> am {day}.{month}.{year}</p>",
        last.to_lowercase()
    );
    s.push_str("<div class=\"content\">\n");
    for _ in 0..1 + rng.below(3) {
        s.push_str("<p>");
        for _ in 0..2 + rng.below(4) {
            if rng.chance(25) {
                let _ = write!(s, "<a href=\"/themen/{}.html\" class=\"link\">", rng.below(500));
                zipf.sentence(rng, 1, 3, "</a> ", s);
            }
            zipf.sentence(rng, 5, 10, ". ", s);
        }
        s.push_str("</p>\n");
    }
    if rng.chance(40) {
        s.push_str("<ul class=\"list\">\n");
        for _ in 0..2 + rng.below(5) {
            let _ = write!(s, "<li class=\"list-item\"><a href=\"/themen/{}.html\">", rng.below(500));
            zipf.sentence(rng, 1, 3, "</a></li>\n", s);
        }
        s.push_str("</ul>\n");
    }
    if rng.chance(30) {
        s.push_str("<table class=\"data\">\n<tr><th>Jahr</th><th>Ort</th><th>Anzahl</th></tr>\n");
        for _ in 0..2 + rng.below(6) {
            let (year, city, count) = (1990 + rng.below(30), rng.pick(CITIES), rng.below(10_000));
            let _ = writeln!(s, "<tr><td>{year}</td><td>{city}</td><td class=\"num\">{count}</td></tr>");
        }
        s.push_str("</table>\n");
    }
    s.push_str("</div>\n</div>\n");
}

/// A PDF: pages with plain text content streams and large compressed-looking (random) images, then a
/// font file stream sized so that the whole is exactly `size` bytes, the xref table and the trailer.
fn pdf(size: usize) -> Vec<u8> {
    let (mut rng, zipf) = (Rng::new(5), Zipf::new());
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut at = vec![0]; // object offsets by number; 0 heads the xref's free list
    pdf_obj(&mut out, &mut at, "<< /Type /Catalog /Pages 2 0 R >>", None);
    at.push(0); // 2, the page tree, is written once its kids are known
    pdf_obj(&mut out, &mut at, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>", None);
    let mut kids = String::new();
    while out.len() + 80_000 + 20 * at.len() < size {
        let _ = write!(kids, "{} 0 R ", at.len());
        pdf_page(&mut rng, &zipf, &mut out, &mut at);
    }
    if let Some(tree) = at.get_mut(2) {
        *tree = out.len();
    }
    let _ = writeln!(out, "2 0 obj\n<< /Type /Pages /Kids [{kids}] /Count {} >>\nendobj", kids.len() / 6);
    // the font file takes what is left; its length is padded to 7 digits so that its head has a fixed size
    let head = |len: usize| format!("<< /Length {len:>7} /Subtype /Type1C >>");
    let probe: Vec<usize> = at.iter().copied().chain([0]).collect();
    let fixed = pdf_tail(&probe, size).len() + format!("{} 0 obj\n", at.len()).len() + head(0).len();
    let rest = size.saturating_sub(out.len() + fixed + "\nstream\n\nendstream\nendobj\n".len());
    pdf_obj(&mut out, &mut at, &head(rest), Some(&random_bytes(&mut rng, rest)));
    let xref = out.len();
    out.extend_from_slice(pdf_tail(&at, xref).as_bytes());
    out
}

/// One page: its dictionary, a plain text content stream, and a random ("compressed") image.
fn pdf_page(rng: &mut Rng, zipf: &Zipf, out: &mut Vec<u8>, at: &mut Vec<usize>) {
    let (n, contents, image) = (at.len(), at.len() + 1, at.len() + 2);
    let page = format!(
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {contents} 0 R /Resources << /Font << \
         /F1 3 0 R >> /XObject << /Im{n} {image} 0 R >> >> >>"
    );
    pdf_obj(out, at, &page, None);
    let mut content = String::new();
    for line in 0..20 + rng.below(30) {
        let _ = write!(content, "BT /F1 10 Tf 72 {} Td (", 760 - 14 * line);
        zipf.sentence(rng, 4, 8, ") Tj ET\n", &mut content);
    }
    pdf_obj(out, at, &format!("<< /Length {} >>", content.len()), Some(content.as_bytes()));
    let (w, h, len) = (200 + rng.below(400), 100 + rng.below(100), 40_000 + rng.below(30_000));
    let dict = format!(
        "<< /Length {len} /Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceRGB \
         /BitsPerComponent 8 /Filter /FlateDecode >>"
    );
    pdf_obj(out, at, &dict, Some(&random_bytes(rng, len)));
}

/// Appends object number `at.len()`, a dictionary and maybe a stream, recording its offset.
fn pdf_obj(out: &mut Vec<u8>, at: &mut Vec<usize>, dict: &str, stream: Option<&[u8]>) {
    let n = at.len();
    at.push(out.len());
    let _ = write!(out, "{n} 0 obj\n{dict}");
    if let Some(data) = stream {
        out.extend_from_slice(b"\nstream\n");
        out.extend_from_slice(data);
        out.extend_from_slice(b"\nendstream");
    }
    out.extend_from_slice(b"\nendobj\n");
}

/// The xref table (one 20-byte entry per object) and the trailer.
fn pdf_tail(at: &[usize], xref: usize) -> String {
    let mut s = format!("xref\n0 {}\n0000000000 65535 f \n", at.len());
    for &offset in at.iter().skip(1) {
        let _ = writeln!(s, "{offset:010} 00000 n ");
    }
    let _ = write!(s, "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", at.len());
    s
}

/// `n` PRNG bytes: what a compressed stream looks like to a compressor.
fn random_bytes(rng: &mut Rng, n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n + 8);
    while v.len() < n {
        v.extend_from_slice(&rng.next().to_le_bytes());
    }
    v.truncate(n);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::DeflateEncoder, Compression};
    use std::hash::{DefaultHasher, Hash, Hasher};

    fn deflate_ratio(data: &[u8]) -> f64 {
        let mut enc = DeflateEncoder::new(Vec::new(), Compression::new(6));
        let len = enc.write_all(data).and_then(|()| enc.finish()).map_or(usize::MAX, |v| v.len());
        data.len() as f64 / len as f64
    }

    fn hash(data: &[u8]) -> u64 {
        let mut h = DefaultHasher::new();
        data.hash(&mut h);
        h.finish()
    }

    #[test]
    fn sizes_determinism_ascii_and_ratios() {
        let (mut wrong, bounds) = (Vec::new(), [(5.0, 8.0), (1.1, 1.4), (2.5, 3.0), (4.0, 6.0), (1.0, 1.1)]);
        for (set, (lo, hi)) in DataSet::ALL.into_iter().zip(bounds) {
            let start = std::time::Instant::now();
            let a = set.generate();
            let took = start.elapsed();
            assert_eq!(a.len(), set.info().1, "{}", set.name());
            assert_eq!(hash(&a), hash(&set.generate()), "{} is not deterministic", set.name());
            assert!(!matches!(set, DataSet::Json | DataSet::Html | DataSet::Text) || a.is_ascii(), "{}", set.name());
            let r = deflate_ratio(&a);
            println!("{}: {} bytes, DEFLATE level 6 ratio {r:.2}:1, generated in {took:?}", set.name(), a.len());
            if !(lo..=hi).contains(&r) {
                wrong.push(format!("{}: ratio {r:.2} outside {lo}..{hi}", set.name()));
            }
        }
        assert!(wrong.is_empty(), "{wrong:?}");
    }

    #[test]
    fn formats_look_right() {
        let image = DataSet::Image.bytes();
        assert!(image.starts_with(b"BM") && image[2..6] == (image.len() as u32).to_le_bytes());
        let offset = u32::from_le_bytes([image[10], image[11], image[12], image[13]]) as usize;
        let (width, height) = (&image[18..22], u32::from_le_bytes([image[22], image[23], image[24], image[25]]));
        assert!(offset >= 1078 && width == 512u32.to_le_bytes() && offset + 512 * height as usize == image.len());
        let pdf = DataSet::Pdf.bytes();
        assert!(pdf.starts_with(b"%PDF-1.4\n") && pdf.ends_with(b"%%EOF\n"));
        let json: Result<Vec<serde_json::Value>, _> = serde_json::from_slice(DataSet::Json.bytes());
        assert!(json.is_ok_and(|v| v.len() > 300 && v.iter().all(|o| o["address"]["city"].is_string())));
        assert!(DataSet::Html.bytes().starts_with(b"<!DOCTYPE html>") && DataSet::Html.bytes().ends_with(b"</html>\n"));
        for set in DataSet::ALL {
            assert_eq!(DataSet::parse(set.name()), Some(set));
            assert!(set.describe().contains(&set.info().1.to_string()));
        }
        assert_eq!(DataSet::parse("lena"), None);
    }

    #[test]
    fn cursor_wraps_and_len_zero_is_empty() {
        let (data, mut out) = (DataSet::Json.bytes(), vec![9; 7]);
        let n = data.len();
        let mut c = DataCursor { at: n - 2, ..DataCursor::new(DataSet::Json, 3) };
        c.next_into(&mut out);
        assert_eq!(out, [data[n - 2], data[n - 1], data[0]]);
        c.next_into(&mut out);
        assert_eq!(out, &data[1..4]);
        DataCursor::new(DataSet::Text, 0).next_into(&mut out);
        assert!(out.is_empty());
        let mut big = DataCursor::new(DataSet::Json, 2 * n + 5);
        big.next_into(&mut out);
        assert_eq!((&out[..n], &out[n..2 * n], &out[2 * n..]), (data, data, &data[..5]));
        big.next_into(&mut out);
        assert_eq!(&out[..3], &data[5..8]);
    }
}

//! Sees every frame of the server as its bytes arrive, without holding it:
//! the trace line of each frame and the facts the judge needs of all of them
//! (the rules they break, the server's close) are taken at read time, while
//! the frames themselves stay as raw bytes until a step asks for them. A flood
//! of tiny frames therefore costs a few bytes each, not an allocation each.
//!
//! Sans-IO: [`FrameScanner::push`] takes bytes and reports [`Scanned`] items.

use crate::wire::{apply_mask, FrameHeader, ReadError};

/// Payload bytes kept of each frame: a whole control frame, and more than a preview shows.
pub const KEPT: usize = 125;

/// What the scanner saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scanned {
    /// A whole frame: its header, the first [`KEPT`] bytes of its payload (unmasked) and its length.
    Frame {
        /// The header, exactly as sent.
        header: FrameHeader,
        /// The start of the payload, unmasked.
        first: Vec<u8>,
    },
    /// A header declaring more than the limit: nothing after it is read as frames
    /// (the same point where [`crate::wire::FrameReader`] stops).
    TooLarge(ReadError),
}

/// Where the scanner is in the byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Collecting a header's bytes.
    Header(Vec<u8>),
    /// Inside a payload: the bytes kept so far, and how many are still to come.
    Payload { header: FrameHeader, first: Vec<u8>, left: u64 },
    /// A frame over the limit was seen: the rest is not frames.
    Stopped,
}

/// Splits the server's byte stream into frames as it arrives, keeping only the start of each.
#[derive(Debug, Clone)]
pub struct FrameScanner {
    limit: u64,
    state: State,
}

impl FrameScanner {
    /// A scanner that stops at any frame declaring more than `limit` payload bytes.
    pub fn new(limit: u64) -> FrameScanner {
        FrameScanner { limit, state: State::Header(Vec::with_capacity(FrameHeader::MAX_LEN)) }
    }

    /// Takes the next bytes of the stream; `seen` gets each frame completed by them.
    pub fn push(&mut self, mut bytes: &[u8], mut seen: impl FnMut(Scanned)) {
        while !bytes.is_empty() {
            bytes = match &mut self.state {
                State::Stopped => return,
                State::Header(buf) => {
                    let take = bytes.len().min(FrameHeader::MAX_LEN - buf.len());
                    buf.extend_from_slice(&bytes[..take]);
                    let Some((header, len)) = FrameHeader::parse(buf) else {
                        bytes = &bytes[take..];
                        continue;
                    };
                    // the bytes taken beyond the header belong to the payload
                    let rest = &bytes[take - (buf.len() - len)..];
                    self.start_payload(header, &mut seen);
                    rest
                }
                State::Payload { header, first, left } => {
                    let take = usize::try_from(*left).map_or(bytes.len(), |l| l.min(bytes.len()));
                    let keep = take.min(KEPT.saturating_sub(first.len()));
                    first.extend_from_slice(&bytes[..keep]);
                    *left -= take as u64;
                    if *left == 0 {
                        let (header, first) = (*header, std::mem::take(first));
                        self.finish(header, first, &mut seen);
                    }
                    &bytes[take..]
                }
            };
        }
    }

    fn start_payload(&mut self, header: FrameHeader, seen: &mut impl FnMut(Scanned)) {
        if header.declared_len > self.limit || usize::try_from(header.declared_len).is_err() {
            self.state = State::Stopped;
            seen(Scanned::TooLarge(ReadError::PayloadTooLarge {
                declared: header.declared_len,
                limit: self.limit,
                header,
            }));
            return;
        }
        if header.declared_len == 0 {
            self.finish(header, Vec::new(), seen);
            return;
        }
        let kept = usize::try_from(header.declared_len).map_or(KEPT, |l| l.min(KEPT));
        self.state = State::Payload { header, first: Vec::with_capacity(kept), left: header.declared_len };
    }

    fn finish(&mut self, header: FrameHeader, mut first: Vec<u8>, seen: &mut impl FnMut(Scanned)) {
        if let Some(key) = header.masking_key {
            // RFC 6455 §5.3: a masked payload reads unmasked (the frame is still reported as masked)
            apply_mask(&mut first, key);
        }
        self.state = State::Header(Vec::with_capacity(FrameHeader::MAX_LEN));
        seen(Scanned::Frame { header, first });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{FrameReader, FrameSpec};

    fn scan_all(bytes: &[u8], chunk: usize) -> Vec<Scanned> {
        let mut s = FrameScanner::new(1 << 20);
        let mut out = Vec::new();
        for piece in bytes.chunks(chunk.max(1)) {
            s.push(piece, |x| out.push(x));
        }
        out
    }

    #[test]
    fn sees_the_frames_the_reader_reads_however_the_bytes_are_cut() {
        let mut bytes = Vec::new();
        for spec in [
            FrameSpec::text("Hello").unmasked(),
            FrameSpec::binary(vec![7; 300]).unmasked(),
            FrameSpec::ping(b"p".to_vec()),
            FrameSpec::text(vec![b'x'; 70000]).unmasked().fin(false),
            FrameSpec::continuation(Vec::new()).unmasked(),
        ] {
            bytes.extend(spec.encode().expect("valid frame"));
        }
        let mut reader = FrameReader::new();
        reader.push(&bytes);
        let mut frames = Vec::new();
        while let Ok(Some(f)) = reader.next_frame() {
            frames.push(f);
        }
        for chunk in [1, 2, 3, 13, 1000, bytes.len()] {
            let scanned = scan_all(&bytes, chunk);
            assert_eq!(scanned.len(), frames.len(), "chunk {chunk}");
            for (s, f) in scanned.iter().zip(&frames) {
                let Scanned::Frame { header, first } = s else { panic!("a frame") };
                assert_eq!(header, &f.header);
                assert_eq!(first[..], f.payload[..f.payload.len().min(KEPT)], "chunk {chunk}");
            }
        }
    }

    #[test]
    fn stops_at_a_frame_over_the_limit() {
        let mut s = FrameScanner::new(100);
        let mut out = Vec::new();
        let mut bytes = FrameSpec::binary(vec![0; 101]).unmasked().encode().expect("frame");
        bytes.extend(FrameSpec::text("after").unmasked().encode().expect("frame"));
        s.push(&bytes, |x| out.push(x));
        assert!(matches!(
            out.as_slice(),
            [Scanned::TooLarge(ReadError::PayloadTooLarge { declared: 101, limit: 100, .. })]
        ));
    }
}

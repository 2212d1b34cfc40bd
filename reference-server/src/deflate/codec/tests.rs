//! The codec against the examples of RFC 7692 §7.2.3, and its bounds.

use super::*;
use crate::deflate::negotiate;
use crate::deflate::DeflateConfig;

fn agreed(offer: &str) -> Agreed {
    negotiate([offer], &DeflateConfig::default()).expect("an acceptable offer")
}

/// Inflates one whole compressed message (its payload as on the wire).
fn inflate(codec: &mut Codec, payload: &[u8], limit: usize) -> Result<Vec<u8>, ProtocolError> {
    codec.inflate(payload, limit)?;
    codec.finish_message(limit)?;
    let message = codec.message().to_vec();
    codec.message = InflatedMessage::default();
    Ok(message)
}

/// The echo payload of `message` (the codec's message set to it, then compressed).
fn compress(codec: &mut Codec, message: &[u8]) -> Result<Vec<u8>, ProtocolError> {
    codec.message = InflatedMessage::from_slice(message);
    let mut out = vec![0xaa];
    let len = codec.compress_message(&mut out)?;
    assert_eq!((out.remove(0), out.len()), (0xaa, len), "appended after what `out` held");
    assert_eq!(codec.message().capacity(), 0, "the message is released");
    Ok(out)
}

const HELLO: &[u8] = &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

#[test]
fn inflates_the_rfc_examples() {
    let mut codec = Codec::new(agreed("permessage-deflate"));
    // §7.2.3.1: "Hello" compressed, one block
    assert_eq!(inflate(&mut codec, HELLO, 1 << 20).unwrap(), b"Hello");
    // §7.2.3.2: the second "Hello" refers to the first through the shared window
    assert_eq!(inflate(&mut codec, &[0xf2, 0x00, 0x11, 0x00, 0x00], 1 << 20).unwrap(), b"Hello");
    // §7.2.3.3: no compression (a stored block)
    let mut codec = Codec::new(agreed("permessage-deflate"));
    let stored = [0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00];
    assert_eq!(inflate(&mut codec, &stored, 1 << 20).unwrap(), b"Hello");
    // §7.2.3.4: a BFINAL block (the trailer after it is ignored)
    let mut codec = Codec::new(agreed("permessage-deflate"));
    assert_eq!(inflate(&mut codec, &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], 1 << 20).unwrap(), b"Hello");
    // §7.2.3.6: the empty message forms, 0x00 and 0x02 0x00
    for empty in [&[0x00][..], &[0x02, 0x00][..]] {
        assert_eq!(inflate(&mut codec, empty, 1 << 20).unwrap(), b"", "{empty:02x?}");
    }
}

#[test]
fn the_shared_window_survives_parking_and_is_reset_without_context_takeover() {
    let mut codec = Codec::new(agreed("permessage-deflate"));
    assert_eq!(inflate(&mut codec, HELLO, 1 << 20).unwrap(), b"Hello");
    // the echo puts the message in the history; parking drops every zlib object
    compress(&mut codec, b"Hello").unwrap();
    codec.park(false);
    assert_eq!(codec.holds_state(), (false, false, 1 << 15));
    assert_eq!(inflate(&mut codec, &[0xf2, 0x00, 0x11, 0x00, 0x00], 1 << 20).unwrap(), b"Hello");
    // client_no_context_takeover: a back-reference to the previous message is corrupt data
    let mut codec = Codec::new(agreed("permessage-deflate; client_no_context_takeover; server_no_context_takeover"));
    assert_eq!(inflate(&mut codec, HELLO, 1 << 20).unwrap(), b"Hello");
    compress(&mut codec, b"Hello").unwrap();
    codec.park(false);
    assert_eq!(codec.holds_state(), (false, false, 0));
    assert_eq!(
        inflate(&mut codec, &[0xf2, 0x00, 0x11, 0x00, 0x00], 1 << 20),
        Err(ProtocolError::InvalidCompressedData)
    );
}

/// A raw inflater standing for the client, inflating what the server sent (§7.2.2).
fn client_inflate(inflater: &mut Decompress, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 << 20);
    inflater.decompress_vec(&[payload, &TRAILER].concat(), &mut out, FlushDecompress::Sync).unwrap();
    out
}

#[test]
fn compresses_as_the_rfc_says() {
    let mut codec = Codec::new(agreed("permessage-deflate"));
    // §7.2.3.6: an empty message is the single octet 0x00
    assert_eq!(compress(&mut codec, b"").unwrap(), [0x00]);
    let mut client = Decompress::new(false);
    let first = compress(&mut codec, b"Hello").unwrap();
    assert_eq!(first, HELLO, "§7.2.3.1");
    assert_eq!(client_inflate(&mut client, &first), b"Hello");
    // context takeover: the second "Hello" is a back-reference, also after the deflater was parked
    codec.park(false);
    let second = compress(&mut codec, b"Hello").unwrap();
    assert!(second.len() < first.len(), "{second:02x?}");
    assert_eq!(client_inflate(&mut client, &second), b"Hello");
}

#[test]
fn every_window_and_context_mode_round_trips_through_a_client() {
    let text: Vec<u8> = (0..40_000u32).flat_map(|i| format!("{} ", i % 997).into_bytes()).collect();
    for offer in [
        "permessage-deflate",
        "permessage-deflate; server_no_context_takeover",
        "permessage-deflate; server_max_window_bits=8",
        "permessage-deflate; server_max_window_bits=9",
        "permessage-deflate; server_max_window_bits=12; server_no_context_takeover",
    ] {
        let mut codec = Codec::new(agreed(offer));
        let bits = codec.agreed().server_max_window_bits.max(9);
        let mut client = Decompress::new_with_window_bits(false, bits);
        for (i, len) in [0usize, 100, 30_000, 5, 40_000].into_iter().enumerate() {
            let message = &text[i * 7..i * 7 + len];
            let payload = compress(&mut codec, message).unwrap();
            if codec.agreed().server_no_context_takeover {
                client = Decompress::new_with_window_bits(false, bits);
            }
            assert_eq!(client_inflate(&mut client, &payload), message, "{offer}, message {i}");
            if i % 2 == 0 {
                codec.park(false);
            }
        }
    }
}

#[test]
fn a_bomb_stops_at_the_limit_without_allocating_more() {
    // 1000:1: 1 MiB of zeros and a little more, deflated to about a kilobyte
    let limit = 1 << 20;
    let mut c = Compress::new(Compression::best(), false);
    let mut bomb = Vec::with_capacity(8192);
    c.compress_vec(&vec![0u8; limit + 4096], &mut bomb, FlushCompress::Sync).unwrap();
    assert!(bomb.len() < 2048, "{}", bomb.len());
    let mut codec = Codec::new(agreed("permessage-deflate"));
    let err = codec.inflate(&bomb, limit).unwrap_err();
    assert_eq!(err, ProtocolError::MessageTooBig { len: limit as u64 + 1, limit: limit as u64 });
    assert_eq!(codec.message().len(), limit);
    assert_eq!(codec.message().capacity(), limit, "allocated exactly up to the limit");
    codec.discard_message();
    assert_eq!(codec.holds_state(), (false, false, 0));
    assert_eq!(codec.message().capacity(), 0);
    // exactly the limit is fine
    let mut c = Compress::new(Compression::best(), false);
    let mut exact = Vec::with_capacity(8192);
    c.compress_vec(&vec![7u8; limit], &mut exact, FlushCompress::Sync).unwrap();
    exact.truncate(exact.len() - 4);
    let mut codec = Codec::new(agreed("permessage-deflate"));
    assert_eq!(inflate(&mut codec, &exact, limit).unwrap().len(), limit);
}

#[test]
fn corrupt_data_is_an_error_not_a_panic() {
    for bad in [&[0xff, 0xff, 0xff][..], &[0x07], &[0xf2, 0x00, 0x11, 0x00, 0x00]] {
        let mut codec = Codec::new(agreed("permessage-deflate"));
        assert_eq!(inflate(&mut codec, bad, 1 << 20), Err(ProtocolError::InvalidCompressedData), "{bad:02x?}");
    }
}

//! The frame layer, RFC 6455 §5: one concern per file.

mod close;
mod header;
mod mask;
mod opcode;

pub use close::{parse_close_payload, CloseCode};
pub use header::{write_server_header, write_server_header_compressed, FrameHeader, Rsv, MAX_HEADER_LEN};
pub use mask::{apply_mask, apply_mask_bytewise, MaskingKey};
pub use opcode::Opcode;

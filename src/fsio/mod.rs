//! File I/O primitives everything above builds on (std only): reads that never follow a
//! link, never block on a FIFO and never take more than a bound; durable create-only and
//! replace writes (stage, fsync, rename, fsync the folder); cross-process file locks.

pub mod dir;
pub mod durable;
pub mod read;

//! Every local `ReadAt` implementation passes the storage conformance suite.
#![allow(clippy::unwrap_used)]

use hexz_core::conformance::check_store;
use hexz_core::{FileStore, MemStore, ReadAt};
use std::io::Write;
use std::sync::{Arc, Mutex};

mod mem_store {
    use super::*;

    #[test]
    fn passes_conformance() {
        check_store(&|data: &[u8]| Arc::new(MemStore::new(data.to_vec())) as Arc<dyn ReadAt>);
    }
}

mod file_store {
    use super::*;

    #[test]
    fn passes_conformance() {
        let dir = tempfile::tempdir().unwrap();
        let n = Mutex::new(0u32);
        check_store(&|data: &[u8]| {
            let mut i = n.lock().unwrap();
            *i += 1;
            let path = dir.path().join(format!("store-{i}"));
            std::fs::File::create(&path)
                .unwrap()
                .write_all(data)
                .unwrap();
            Arc::new(FileStore::open(&path).unwrap()) as Arc<dyn ReadAt>
        });
    }

    #[test]
    fn counts_bytes_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        let s = FileStore::open(&path).unwrap();
        let mut buf = [0u8; 4];
        s.read_exact_at(3, &mut buf).unwrap();
        assert_eq!(&buf, b"3456");
        assert_eq!(s.bytes_read(), 4);
        assert!(s.describe().ends_with('f'));
    }

    #[test]
    fn refuses_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert!(FileStore::open(dir.path()).is_err());
    }
}

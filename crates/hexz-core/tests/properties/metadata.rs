//! User metadata: any JSON object round-trips; anything else is refused.

use super::*;

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[ -~é漢\\n]{0,20}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn metadata_bytes_round_trip(
        obj in prop::collection::btree_map("[a-zA-Z0-9_.]{1,12}", json_value(), 0..8),
        pretty in any::<bool>(),
        with_data in any::<bool>(),
    ) {
        let v = serde_json::Value::Object(obj.into_iter().collect());
        let json = if pretty {
            serde_json::to_vec_pretty(&v).unwrap()
        } else {
            serde_json::to_vec(&v).unwrap()
        };
        let file = build(WriteOptions::default(), |w| {
            if with_data {
                w.add_bytes("x", &[1, 2, 3], meta(0))?;
            }
            w.set_metadata(&json)
        })
        .unwrap();
        let a = open_mem(&file, ReadOptions::default()).unwrap();
        prop_assert_eq!(a.metadata().unwrap(), Some(json));
        verify_ok(&a);
    }
}

#[test]
fn absent_metadata_is_none() {
    let file = build(WriteOptions::default(), |w| {
        w.add_bytes("x", b"abc", meta(0))
    })
    .unwrap();
    let a = open_mem(&file, ReadOptions::default()).unwrap();
    assert_eq!(a.metadata().unwrap(), None);
}

#[test]
fn metadata_must_be_a_json_object() {
    let out = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
    let mut w = hexz_core::ArchiveWriter::with_sink(
        Box::new(hexz_core::sink::VecSink::new(out)),
        WriteOptions::default(),
    )
    .unwrap();
    for bad in [&b"[1,2]"[..], b"3", b"\"s\"", b"{", b"", b"\xff"] {
        assert!(
            matches!(w.set_metadata(bad), Err(Error::InvalidInput(_))),
            "{bad:?}"
        );
    }
    w.set_metadata(b"{}").unwrap();
}

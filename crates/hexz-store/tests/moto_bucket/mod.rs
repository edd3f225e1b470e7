//! A bucket on a test moto_server, with a plain object_store client to put and get objects
//! behind the store under test, and the AWS environment that points `s3://` URLs at it.
#![allow(dead_code, clippy::unwrap_used)]

use hexz_testkit::servers::{self, Server};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutPayload};

/// Points the AWS environment at `server` with moto's test credentials. Callers must be the
/// only thread of their test binary that reads the environment.
pub fn use_moto_env(server: &Server) {
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    std::env::set_var("AWS_REGION", "us-east-1");
    std::env::set_var("AWS_ENDPOINT_URL", server.base_url());
    std::env::remove_var("AWS_SESSION_TOKEN");
    std::env::remove_var("AWS_PROFILE");
}

/// A bucket created on a moto_server, and a client for it.
pub struct TestBucket {
    rt: tokio::runtime::Runtime,
    store: AmazonS3,
    /// The server's port on 127.0.0.1.
    pub port: u16,
}

impl TestBucket {
    /// Creates `name` on `server` (one unsigned PUT; moto accepts those).
    pub fn create(server: &Server, name: &str) -> TestBucket {
        let status = servers::http_status(server.port, "PUT", &format!("/{name}"));
        assert_eq!(status, 200, "create bucket {name}");
        TestBucket {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            store: AmazonS3Builder::new()
                .with_endpoint(server.base_url())
                .with_allow_http(true)
                .with_bucket_name(name)
                .with_region("us-east-1")
                .with_access_key_id("testing")
                .with_secret_access_key("testing")
                .build()
                .unwrap(),
            port: server.port,
        }
    }

    /// Puts `data` at `key`.
    pub fn put(&self, key: &str, data: &[u8]) {
        let payload = PutPayload::from(data.to_vec());
        self.rt
            .block_on(self.store.put(&ObjectPath::from(key), payload))
            .unwrap();
    }

    /// The object's bytes, or `None` when there is no object at `key`.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let res = self.rt.block_on(async {
            let r = self.store.get(&ObjectPath::from(key)).await?;
            r.bytes().await
        });
        match res {
            Ok(b) => Some(b.to_vec()),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => panic!("GET {key}: {e}"),
        }
    }
}

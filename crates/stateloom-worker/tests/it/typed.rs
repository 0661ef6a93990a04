//! Typed modules: the trait, the proxy and the dispatch from `worker_module!`.

use serde::{Deserialize, Serialize};
use stateloom_store::Store;
use stateloom_worker::{Error, Module, WorkerApp, WorkerClient, memory_pair, worker_module};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Shape {
    width: u32,
    height: u32,
}

worker_module! {
    /// A resizable shape.
    trait ShapeApi as "shape" => ShapeClient {
        /// Sets both sides; returns the area.
        fn resize(&self, width: u32, height: u32) -> u64;
        /// Halves both sides.
        fn shrink(&self);
        /// The current shape.
        fn get(&self) -> Shape;
    }
}

struct ShapeModule(Store<Shape>);

impl ShapeApi for ShapeModule {
    fn resize(&self, width: u32, height: u32) -> u64 {
        self.0.set_state(Shape { width, height });
        u64::from(width) * u64::from(height)
    }

    fn shrink(&self) {
        self.0.update(|s| {
            s.width /= 2;
            s.height /= 2;
        });
    }

    fn get(&self) -> Shape {
        self.0.get_state()
    }
}

#[test]
fn typed_calls_name_no_strings() {
    let (host_end, client_end) = memory_pair();
    let store = Store::new(Shape::default());
    let app = WorkerApp::builder()
        .module(
            Module::new(<ShapeModule as ShapeApi>::MODULE, store.clone())
                .methods(ShapeModule(store).into_methods()),
        )
        .build(host_end);
    let client = WorkerClient::new(client_end);
    let shape = ShapeClient::new(&client);
    let area = shape.resize(4, 6);
    let shrink = shape.shrink();
    let get = shape.get();
    while app.pump() + client.pump() > 0 {}
    assert_eq!(area.try_result(), Some(Ok(24)));
    assert_eq!(shrink.try_result(), Some(Ok(())));
    assert_eq!(
        get.try_result(),
        Some(Ok(Shape {
            width: 2,
            height: 3
        }))
    );
    assert_eq!(
        client.module_state::<Shape>("shape").unwrap(),
        Shape {
            width: 2,
            height: 3
        }
    );
    // A result that does not read as the declared type is an error, not a panic.
    let wrong = client.call("shape", "get", ()).typed::<u8>();
    while app.pump() + client.pump() > 0 {}
    assert!(matches!(
        wrong.try_result(),
        Some(Err(Error::UnexpectedResult(_)))
    ));
}

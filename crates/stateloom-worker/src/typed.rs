//! Typed modules: one trait per module, and a macro that makes the client proxy and the host
//! dispatch from it, so call sites name no strings.

/// Declares a typed module: a trait of its methods, the client proxy that calls them, and the
/// host dispatch that serves them.
///
/// ```text
/// worker_module! {
///     /// Docs of the trait.
///     pub trait Counter as "counter" => CounterClient {
///         /// Docs of the method.
///         fn increase(&self, by: i64) -> i64;
///         fn reset(&self);
///     }
/// }
/// ```
/// generates
/// - `pub trait Counter: 'static` with those methods, for the host side to implement, plus a
///   constant `Counter::MODULE` (the module name, `"counter"`) and a provided
///   `into_methods(self) -> MethodTable` that serves each method by name;
/// - `pub struct CounterClient<'a>`, the client proxy: `CounterClient::new(&client)` has one
///   method per trait method, with the same parameters, returning a [`TypedCall`] of the
///   return type.
///
/// Arguments travel as a JSON array of the parameters, in order. Method parameters and
/// return types must be serde types.
///
/// [`TypedCall`]: crate::TypedCall
///
/// # Examples
/// ```
/// use serde::{Deserialize, Serialize};
/// use stateloom_store::Store;
/// use stateloom_worker::{Module, WorkerApp, WorkerClient, spawn_worker, worker_module};
///
/// #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
/// pub struct Todos { items: Vec<String> }
///
/// worker_module! {
///     /// The todo list's methods.
///     pub trait TodoApi as "todos" => TodoClient {
///         /// Adds an item; returns how many there are.
///         fn add(&self, title: String) -> usize;
///         /// Removes every item.
///         fn clear(&self);
///     }
/// }
///
/// /// The host side: the store and the methods' bodies.
/// struct TodoModule(Store<Todos>);
///
/// impl TodoApi for TodoModule {
///     fn add(&self, title: String) -> usize {
///         self.0.update(move |t| t.items.push(title));
///         self.0.with_untracked(|t| t.items.len())
///     }
///     fn clear(&self) {
///         self.0.update(|t| t.items.clear());
///     }
/// }
///
/// let (transport, thread) = spawn_worker(|transport| {
///     let store = Store::new(Todos::default());
///     let methods = TodoModule(store.clone()).into_methods();
///     WorkerApp::builder()
///         .module(Module::new(<TodoModule as TodoApi>::MODULE, store).methods(methods))
///         .build(transport)
/// }).unwrap();
///
/// let client = WorkerClient::new(transport);
/// let todos = TodoClient::new(&client);
/// assert_eq!(todos.add("milk".into()).wait().unwrap(), 1);
/// assert_eq!(todos.add("eggs".into()).wait().unwrap(), 2);
/// assert_eq!(client.module_state::<Todos>("todos").unwrap().items, ["milk", "eggs"]);
/// todos.clear().wait().unwrap();
/// client.dispose();
/// thread.join().unwrap();
/// ```
#[macro_export]
macro_rules! worker_module {
    (
        $(#[$meta:meta])*
        $vis:vis trait $name:ident as $module:literal => $client:ident {
            $(
                $(#[$method_meta:meta])*
                fn $method:ident(&self $(, $arg:ident : $ty:ty)* $(,)?) $(-> $ret:ty)?;
            )*
        }
    ) => {
        $(#[$meta])*
        $vis trait $name: 'static {
            /// The module's name on the wire.
            const MODULE: &'static str = $module;

            $(
                $(#[$method_meta])*
                fn $method(&self $(, $arg: $ty)*) $(-> $ret)?;
            )*

            /// The host dispatch: each method of the trait, served by name.
            fn into_methods(self) -> $crate::MethodTable
            where
                Self: Sized,
            {
                let this = ::std::rc::Rc::new(self);
                let mut table = $crate::MethodTable::new();
                $(
                    {
                        let this = ::std::rc::Rc::clone(&this);
                        table.insert(
                            ::std::stringify!($method),
                            move |($($arg,)*): ($($ty,)*)| this.$method($($arg),*),
                        );
                    }
                )*
                table
            }
        }

        #[doc = ::std::concat!("The client proxy of [`", ::std::stringify!($name), "`]: one method per trait method, each a call to the host.")]
        #[derive(Debug, Clone, Copy)]
        $vis struct $client<'a> {
            client: &'a $crate::WorkerClient,
        }

        impl<'a> $client<'a> {
            /// The proxy of `client`.
            $vis fn new(client: &'a $crate::WorkerClient) -> Self {
                Self { client }
            }

            $(
                $(#[$method_meta])*
                $vis fn $method(&self $(, $arg: $ty)*) -> $crate::TypedCall<$crate::__worker_ret!($($ret)?)> {
                    self.client
                        .call($module, ::std::stringify!($method), ($($arg,)*))
                        .typed()
                }
            )*
        }
    };
}

/// The return type of a typed method: `()` when it has none.
#[doc(hidden)]
#[macro_export]
macro_rules! __worker_ret {
    () => {
        ()
    };
    ($ret:ty) => {
        $ret
    };
}

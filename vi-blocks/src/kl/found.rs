//! `Module` for the types whose penalty [`super::total_kl`] and [`super::total_regularizer`] find.
//!
//! Burn's `#[derive(Module)]` visits a struct's fields and nothing else, so a visitor sees
//! tensors and names, never the type that owns them. The types below implement `Module` through
//! [`module_found_by_type!`] instead: the same traversal as the derive (each field entered under
//! its name, so records and optimizers see the usual paths), preceded in `visit` by an offer of the
//! value itself to the collection of [`super::registry`], if one is running on this thread.

/// Implements `burn::module::Module` (and its display) for a struct whose fields are all modules
/// (constants such as `f64` are modules too) except those listed after `skip`, which are cloned
/// through. `offer(this)` runs at the start of every `visit` with `this: &Self`.
macro_rules! module_found_by_type {
    (
        $ty:ident { $($field:ident),* $(,)? }
        skip { $($skip:ident),* $(,)? }
        offer($this:ident) $offer:block
    ) => {
        impl burn::module::Module for $ty {
            fn collect_devices(&self, devices: burn::module::Devices) -> burn::module::Devices {
                let devices = devices;
                $( let devices = burn::module::Module::collect_devices(&self.$field, devices); )*
                devices
            }

            fn fork(self, device: &burn::tensor::Device) -> Self {
                Self {
                    $( $field: burn::module::Module::fork(self.$field, device), )*
                    $( $skip: self.$skip, )*
                }
            }

            fn to_device(self, device: &burn::tensor::Device) -> Self {
                Self {
                    $( $field: burn::module::Module::to_device(self.$field, device), )*
                    $( $skip: self.$skip, )*
                }
            }

            fn train(self) -> Self {
                Self {
                    $( $field: burn::module::Module::train(self.$field), )*
                    $( $skip: self.$skip, )*
                }
            }

            fn valid(&self) -> Self {
                Self {
                    $( $field: burn::module::Module::valid(&self.$field), )*
                    $( $skip: self.$skip.clone(), )*
                }
            }

            fn materialize(self) -> Self {
                Self {
                    $( $field: burn::module::Module::materialize(self.$field), )*
                    $( $skip: self.$skip, )*
                }
            }

            fn visit<V: burn::module::ModuleVisitor>(&self, visitor: &mut V) {
                {
                    let $this: &Self = self;
                    $offer
                }
                $(
                    visitor.enter_module(stringify!($field), concat!("Struct:", stringify!($ty)));
                    burn::module::Module::visit(&self.$field, visitor);
                    visitor.exit_module(stringify!($field), concat!("Struct:", stringify!($ty)));
                )*
            }

            fn map<M: burn::module::ModuleMapper>(self, mapper: &mut M) -> Self {
                Self {
                    $(
                        $field: {
                            mapper.enter_module(stringify!($field), concat!("Struct:", stringify!($ty)));
                            let mapped = burn::module::Module::map(self.$field, mapper);
                            mapper.exit_module(stringify!($field), concat!("Struct:", stringify!($ty)));
                            mapped
                        },
                    )*
                    $( $skip: self.$skip, )*
                }
            }
        }

        impl burn::module::ModuleDisplayDefault for $ty {
            fn content(
                &self,
                content: burn::module::Content,
            ) -> Option<burn::module::Content> {
                content
                    $( .add(stringify!($field), &self.$field) )*
                    .optional()
            }
        }

        impl burn::module::ModuleDisplay for $ty {}
    };
}

pub(crate) use module_found_by_type;

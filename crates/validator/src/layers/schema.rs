use super::{Context, Layer, LayerOutput};
use crate::finding::LayerName;

/// Layer 2: every table, column, alias and qualified reference resolves in
/// its scope; types are used sensibly. The work is done once by the
/// resolver (`scope.rs`), whose findings this layer reports.
pub struct SchemaCompliance;

impl Layer for SchemaCompliance {
    fn name(&self) -> LayerName {
        LayerName::Schema
    }

    fn check(&self, cx: &Context) -> LayerOutput {
        cx.analysis
            .map(|a| a.findings.clone())
            .unwrap_or_default()
            .into()
    }
}

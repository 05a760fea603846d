//! Serving-speed copies of a model under training. A LoRA adapter applied
//! at every token costs two extra products per projection, and dense f32
//! weights go through gemm, which is slow for the few rows of a batched
//! decode: GRPO sampled 4.2 times slower a token than it does from a
//! folded copy (BENCHMARKS.md "GRPO step"). A folded copy has the
//! adapter's current weights folded into its projections and quantised
//! to Q8_0 as serving's are, so it samples on serving's path. It shares
//! the embedding and norms with the model it copies.

use crate::linear::Linear;
use crate::llama::Llama;
use crate::{ModelError, WeightFormat};

fn weights_error(e: candle_core::Error) -> ModelError {
    ModelError::Weights {
        path: "<fold>".into(),
        message: e.to_string(),
    }
}

impl Llama {
    /// A copy with adapter `name` folded into its weights (`W + scale·B·A`)
    /// and every projection and the head in Q8_0; the copy has no adapters
    /// and nothing of it takes gradients. [`Llama::refold_q8`] brings it up
    /// to date after the adapter is trained further.
    pub fn folded_q8(&self, name: &str) -> Result<Llama, ModelError> {
        let mut copy = Llama::assemble(
            self.config.clone(),
            self.embed.detach(),
            self.layers.clone(),
            self.norm.detach(),
            self.output.clone(),
            self.device(),
        )
        .map_err(weights_error)?;
        // Serving's requantisation for what the adapter leaves alone; the
        // projections it adapts are rewritten with the adapter folded in.
        copy.requantize_q8()?;
        self.refold_q8(name, &mut copy)?;
        Ok(copy)
    }

    /// Rewrites the projections of `copy` that adapter `name` adapts from
    /// this model's weights and the adapter's current values. The rest of
    /// the copy (the other projections, head, embedding and norms) stays
    /// as it is: LoRA training leaves the base weights as they were when
    /// the copy was made.
    pub fn refold_q8(&self, name: &str, copy: &mut Llama) -> Result<(), ModelError> {
        let adapter = self
            .adapter(name)
            .ok_or_else(|| ModelError::Adapter(format!("no adapter named '{name}'")))?;
        if copy.layers.len() != self.layers.len() {
            return Err(ModelError::Adapter(format!(
                "a copy of {} layers cannot take a model of {}",
                copy.layers.len(),
                self.layers.len()
            )));
        }
        let e = weights_error;
        for &(layer, t) in adapter.pairs.keys() {
            let Some(d) = adapter.weight_delta(layer, t).map_err(e)? else {
                continue;
            };
            let lin = self.layers[layer].proj(t);
            let w = (lin.dense_weight().map_err(e)?.detach() + d.detach()).map_err(e)?;
            *copy.layers[layer].proj_mut(t) =
                Linear::from_dense(w, lin.bias().cloned(), WeightFormat::Q8_0).map_err(e)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{Config, KvCache, Llama, LoraAdapter, LoraConfig, Pass};
    use candle_core::{Device, Tensor};

    /// Tiny random weights whose projections are whole Q8_0 blocks, so
    /// the copy really is quantised.
    fn model() -> Llama {
        Llama::random(Config::tiny(96), 3, &Device::Cpu).unwrap()
    }

    /// B is zero at init; random values make the adapter matter.
    fn move_adapter(m: &Llama, seed: u64) {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        for p in m.adapter("p").unwrap().pairs.values() {
            let v: Vec<f32> = (0..p.b.elem_count())
                .map(|_| (rng.random::<f32>() - 0.5) * 0.1)
                .collect();
            let t = Tensor::from_vec(v, p.b.dims(), &Device::Cpu).unwrap();
            p.b.set(&t).unwrap();
        }
    }

    fn logits(m: &Llama, adapter: Option<&str>) -> Tensor {
        let ids = Tensor::new(&[[11u32, 12, 13, 14, 15]], &Device::Cpu).unwrap();
        let pass = Pass {
            adapter,
            ..Pass::all()
        };
        m.forward_batch(&ids, &mut KvCache::default(), pass)
            .unwrap()
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar()
            .unwrap()
    }

    /// The folded copy computes what the adapted model computes, within
    /// Q8_0's rounding (a tenth of the adapter's own effect), and far from
    /// the base model; after the adapter moves, a refold follows it.
    #[test]
    fn a_folded_copy_computes_what_the_adapted_model_computes() {
        let mut m = model();
        let adapter = LoraAdapter::new(&m.config, LoraConfig::default(), 5, &Device::Cpu).unwrap();
        m.add_adapter("p", adapter).unwrap();
        move_adapter(&m, 9);
        let base = logits(&m, None);
        let adapted = logits(&m, Some("p"));
        let mut copy = m.folded_q8("p").unwrap();
        assert!(copy.adapter_names().is_empty());
        let folded = logits(&copy, None);
        let (err, gap) = (max_diff(&folded, &adapted), max_diff(&base, &adapted));
        assert!(err < gap / 10.0, "error {err}, adapter's effect {gap}");

        move_adapter(&m, 10);
        let moved = logits(&m, Some("p"));
        assert!(
            max_diff(&moved, &adapted) > gap / 2.0,
            "the move must matter"
        );
        m.refold_q8("p", &mut copy).unwrap();
        let refolded = logits(&copy, None);
        let err = max_diff(&refolded, &moved);
        assert!(err < gap / 10.0, "error after the refold {err}");
    }

    #[test]
    fn folding_a_missing_adapter_is_an_error() {
        assert!(model().folded_q8("none").is_err());
    }
}

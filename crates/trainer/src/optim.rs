//! AdamW over the LoRA matrices with its moments kept in safetensors (so
//! `--resume` continues exactly), gradient accumulation, global-norm
//! clipping and the warmup + cosine learning-rate schedule.

use crate::TrainError;
use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};
use std::collections::HashMap;
use std::path::Path;

pub struct AdamW {
    vars: Vec<Var>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    pub step: usize,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl AdamW {
    pub fn new(vars: Vec<Var>, weight_decay: f64) -> Result<AdamW> {
        let zeros = |v: &Var| v.as_tensor().zeros_like();
        Ok(AdamW {
            m: vars.iter().map(zeros).collect::<Result<_>>()?,
            v: vars.iter().map(zeros).collect::<Result<_>>()?,
            vars,
            step: 0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
        })
    }

    /// One update with `grads` (one per var, in order).
    pub fn update(&mut self, grads: &[Tensor], lr: f64) -> Result<()> {
        self.step += 1;
        let (b1, b2) = (self.beta1, self.beta2);
        let c1 = 1.0 - b1.powi(self.step as i32);
        let c2 = 1.0 - b2.powi(self.step as i32);
        for (i, g) in grads.iter().enumerate().take(self.vars.len()) {
            self.m[i] = ((&self.m[i] * b1)? + (g * (1.0 - b1))?)?;
            self.v[i] = ((&self.v[i] * b2)? + (g.sqr()? * (1.0 - b2))?)?;
            let mhat = (&self.m[i] / c1)?;
            let vhat = (&self.v[i] / c2)?;
            let w = self.vars[i].as_tensor();
            let decayed = (w * (1.0 - lr * self.weight_decay))?;
            let upd = (mhat / (vhat.sqrt()? + self.eps)?)?;
            self.vars[i].set(&(decayed - (upd * lr)?)?)?;
        }
        Ok(())
    }

    pub fn save(&self, path: &Path) -> std::result::Result<(), TrainError> {
        let mut t = HashMap::new();
        for i in 0..self.vars.len() {
            t.insert(format!("m.{i}"), self.m[i].clone());
            t.insert(format!("v.{i}"), self.v[i].clone());
        }
        t.insert(
            "step".into(),
            Tensor::new(&[self.step as u32], &candle_core::Device::Cpu)?,
        );
        candle_core::safetensors::save(&t, path)?;
        Ok(())
    }

    pub fn load(&mut self, path: &Path) -> std::result::Result<(), TrainError> {
        let dev = self
            .vars
            .first()
            .map(|v| v.device().clone())
            .unwrap_or(candle_core::Device::Cpu);
        let t = candle_core::safetensors::load(path, &dev)?;
        let get = |k: &str| {
            t.get(k)
                .cloned()
                .ok_or_else(|| TrainError::Invalid(format!("{} lacks {k}", path.display())))
        };
        for i in 0..self.vars.len() {
            let (m, v) = (get(&format!("m.{i}"))?, get(&format!("v.{i}"))?);
            if m.dims() != self.vars[i].dims() {
                return Err(TrainError::Invalid(format!(
                    "{}: optimizer state does not fit",
                    path.display()
                )));
            }
            self.m[i] = m;
            self.v[i] = v;
        }
        self.step = get("step")?.to_vec1::<u32>()?[0] as usize;
        Ok(())
    }
}

/// Adds this backward pass's gradients to the running sums.
pub fn accumulate(sums: &mut Vec<Tensor>, vars: &[Var], grads: &GradStore) -> Result<()> {
    for (i, v) in vars.iter().enumerate() {
        let g = match grads.get(v.as_tensor()) {
            Some(g) => g.clone(),
            None => v.as_tensor().zeros_like()?,
        };
        if sums.len() <= i {
            sums.push(g);
        } else {
            sums[i] = (&sums[i] + g)?;
        }
    }
    Ok(())
}

/// Scales gradients so their global L2 norm is at most `max_norm`;
/// returns the norm before clipping.
pub fn clip(grads: &mut [Tensor], max_norm: f64) -> Result<f64> {
    let mut sq = 0f64;
    for g in grads.iter() {
        sq += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
    }
    let norm = sq.sqrt();
    if max_norm > 0.0 && norm > max_norm {
        let s = max_norm / (norm + 1e-6);
        for g in grads.iter_mut() {
            *g = (&*g * s)?;
        }
    }
    Ok(norm)
}

/// Linear warmup to `peak`, then cosine decay to zero at `total`.
pub fn lr_at(step: usize, total: usize, warmup: usize, peak: f64) -> f64 {
    if warmup > 0 && step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let span = total.saturating_sub(warmup).max(1) as f64;
    let p = ((step - warmup.min(step)) as f64 / span).min(1.0);
    peak * 0.5 * (1.0 + (std::f64::consts::PI * p).cos())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn schedule_warms_up_then_decays_to_zero() {
        assert!((lr_at(0, 100, 10, 1.0) - 0.1).abs() < 1e-12);
        assert!((lr_at(9, 100, 10, 1.0) - 1.0).abs() < 1e-12);
        assert!((lr_at(10, 100, 10, 1.0) - 1.0).abs() < 1e-12);
        assert!(lr_at(55, 100, 10, 1.0) < 0.6 && lr_at(55, 100, 10, 1.0) > 0.4);
        assert!(lr_at(100, 100, 10, 1.0).abs() < 1e-12);
    }

    #[test]
    fn adamw_minimises_and_its_state_round_trips() {
        let dev = Device::Cpu;
        let x = Var::from_tensor(&Tensor::new(&[3f32, -2.0], &dev).unwrap()).unwrap();
        let mut opt = AdamW::new(vec![x.clone()], 0.0).unwrap();
        for _ in 0..200 {
            let loss = x.as_tensor().sqr().unwrap().sum_all().unwrap();
            let g = loss.backward().unwrap();
            let mut sums = Vec::new();
            accumulate(&mut sums, std::slice::from_ref(&x), &g).unwrap();
            clip(&mut sums, 1.0).unwrap();
            opt.update(&sums, 0.05).unwrap();
        }
        let v: Vec<f32> = x.as_tensor().to_vec1().unwrap();
        assert!(v.iter().all(|a| a.abs() < 0.1), "{v:?}");
        let dir = tempfile::tempdir().unwrap();
        opt.save(&dir.path().join("o.safetensors")).unwrap();
        let mut other = AdamW::new(vec![x.clone()], 0.0).unwrap();
        other.load(&dir.path().join("o.safetensors")).unwrap();
        assert_eq!(other.step, 200);
        assert_eq!(
            other.m[0].to_vec1::<f32>().unwrap(),
            opt.m[0].to_vec1::<f32>().unwrap()
        );
    }
}

//! Embeddings, multi-head self-attention and the transformer encoder layer
//! against PyTorch in f64 (tests/data/pytorch_attention.txt, made by
//! scripts/torch_attention.py): outputs and the gradients of sum(out · cot)
//! with respect to the input and every parameter, to 1e-12.

mod common;

use gradus_nn::{Embedding, Module, MultiheadAttention, TransformerLayer, TransformerOptions};

#[test]
fn attention_layers_equal_pytorch() {
    let r = common::reference(include_str!("data/pytorch_attention.txt"));
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
    let mut cases: Vec<(&str, Box<dyn Module<f64>>)> = Vec::new();
    let mut mha = |e, h, bias, causal| Box::new(MultiheadAttention::new(e, h, 0.0, bias, causal, &mut rng));
    cases.push(("mha_one_head", mha(4, 1, true, false)));
    cases.push(("mha_three_heads", mha(6, 3, true, false)));
    cases.push(("mha_causal", mha(4, 2, true, true)));
    cases.push(("mha_one_step", mha(4, 2, true, true)));
    cases.push(("mha_no_bias", mha(4, 2, false, false)));
    let base = TransformerOptions { dropout: 0.0, ..Default::default() };
    let mut layer = |d, h, opts| Box::new(TransformerLayer::new(d, h, opts, &mut rng));
    cases.push(("transformer_post_relu", layer(4, 2, TransformerOptions { dim_feedforward: 8, ..base })));
    let pre = TransformerOptions { dim_feedforward: 5, gelu: true, norm_first: true, causal: true, ..base };
    cases.push(("transformer_pre_gelu_causal", layer(6, 3, pre)));
    cases.push((
        "transformer_post_causal",
        layer(4, 1, TransformerOptions { dim_feedforward: 6, causal: true, ..base }),
    ));
    let no_bias = TransformerOptions { dim_feedforward: 6, bias: false, layer_norm_eps: 1e-3, ..base };
    cases.push(("transformer_no_bias", layer(4, 2, no_bias)));
    cases.push(("embedding", Box::new(Embedding::new(5, 3, None, &mut rng))));
    cases.push(("embedding_padding", Box::new(Embedding::new(5, 3, Some(0), &mut rng))));
    let in_file = common::cases_in(&r);
    assert_eq!(in_file.len(), cases.len(), "every case in the file has a module here");
    for (case, module) in &cases {
        common::check(case, module.as_ref(), &r);
    }
}

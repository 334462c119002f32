// The GPT of part 9 written with the tensor ops of part 8 (tensor/ops.h), on the autograd tape:
// nanoGPT's model.py line for line, with no fused kernel and no hand-written backward. The tape
// differentiates it. It is the same model as gpt_model.h's: on the same weights and batch its loss
// and every gradient are equal (tests/nn/gpt_tape_test.cpp, and ladder 09 shows it), so the fast
// forward and backward are exactly this math, fused and planned.
//
//   Graph<float> g;
//   Tensor<float> loss = gpt_tape_loss(g, weights.params(), weights.config(), x, y, B, T);
//   weights.params().zero_grad();
//   loss.backward();                         // += into the gradients of the same Params store
//
// The parameters are looked up by their nanoGPT names in any Params store with GptWeights'
// tensors (Params<double> too: the gradient checks of the whole GPT in double). Without dropout.
// Legend: B batch, T time, C = n_embd, NH = n_head, hs = C/NH, V = vocab_size.
#pragma once

#include "nn/gpt_weights.h"
#include "tensor/ops.h"

namespace wiggle {

// The mean cross-entropy of the logits at the targets (a target of −1 is ignored), tokens and
// targets (B,T).
template <typename T>
Tensor<T> gpt_tape_loss(Graph<T>& g, Params<T>& params, const GptConfig& config,
                        std::span<const int> tokens, std::span<const int> targets, int B, int Tn);

}  // namespace wiggle

// Losses and accuracy on the scalar engine (parts 2 and 3).
//
// A batch of B examples with K outputs each is a row-major span of B·K Values: row b holds the
// scores (logits) of example b. Every loss is the mean over the batch, as in PyTorch's default
// reduction, so the learning rate does not depend on the batch size.
//
// Softmax and cross-entropy subtract each row's largest logit before exponentiating (the
// log-sum-exp trick): exp never sees a positive number, so logits of ±1000 give exact answers
// instead of inf/NaN. The subtracted maximum is a plain double, not a node: the gradient of
// log-sum-exp does not depend on it, so nothing is lost.
//
// reference: micrograd demo.ipynb (the SVM loss and accuracy), PyTorch F.cross_entropy,
// F.softmax, F.mse_loss (the fixtures in tests/fixtures/scalar_losses.safetensors).
#pragma once

#include <span>
#include <vector>

#include "scalar/value.h"

namespace wiggle {

// mean((pred - target)^2) over all elements.
Value mse_loss(std::span<const Value> pred, std::span<const double> target);

// micrograd's max-margin loss for labels ±1 and one score per example:
// mean(relu(1 - y·score)).
Value svm_loss(std::span<const Value> scores, std::span<const int> labels_pm1);

// The softmax of each row of K logits, written into out (B·K Values).
void softmax(std::span<const Value> logits, int num_classes, std::span<Value> out);
std::vector<Value> softmax(std::span<const Value> logits, int num_classes);

// mean over rows of -log softmax(logits_row)[target]  =  mean(logsumexp(row) - row[target]).
Value cross_entropy(std::span<const Value> logits, int num_classes, std::span<const int> targets);

// MSE between each row of K outputs and the one-hot vector of its target: the "wrong loss" that
// part 3 compares cross-entropy with. mean over all B·K elements.
Value mse_one_hot_loss(std::span<const Value> outputs, int num_classes,
                       std::span<const int> targets);

// sum(p^2) over the parameters: add alpha·l2_penalty(params) to a loss for L2 weight decay.
Value l2_penalty(std::span<const Value> params);

// Fraction of examples whose score has the sign of their ±1 label (score > 0 means +1).
double sign_accuracy(std::span<const Value> scores, std::span<const int> labels_pm1);
// Fraction of rows whose largest logit is at the target (the first one on ties).
double argmax_accuracy(std::span<const Value> logits, int num_classes,
                       std::span<const int> targets);
// Index of the largest of K values (the first one on ties).
int argmax(std::span<const Value> row);

}  // namespace wiggle

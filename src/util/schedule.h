// Learning-rate schedules (part 3), shared by the scalar and tensor training loops.
// Steps count from 0; `total` is the number of steps of the run.
#pragma once

#include <cmath>

namespace wiggle {

enum class ScheduleKind { Constant, Linear, Cosine };

struct Schedule {
    ScheduleKind kind = ScheduleKind::Constant;
    double lr = 0.1;      // the peak learning rate
    double min_lr = 0.0;  // where Linear and Cosine end
    int warmup = 0;       // steps of linear warmup before the decay starts
    int total = 1;        // the step at which the decay reaches min_lr

    // nanoGPT's get_lr for Cosine: warmup lr·(step+1)/(warmup+1), then a half cosine from lr to
    // min_lr over [warmup, total], then min_lr. Linear decays in a straight line instead.
    double at(int step) const {
        if (step < warmup) return lr * (step + 1) / (warmup + 1);
        if (kind == ScheduleKind::Constant) return lr;
        if (step >= total) return min_lr;
        const double progress =
            double(step - warmup) / double(total - warmup > 0 ? total - warmup : 1);
        if (kind == ScheduleKind::Linear) return lr + (min_lr - lr) * progress;
        const double pi = 3.14159265358979323846;
        return min_lr + 0.5 * (1.0 + std::cos(pi * progress)) * (lr - min_lr);
    }
};

}  // namespace wiggle

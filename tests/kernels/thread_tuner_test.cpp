// The team-size tuner against a simulated clock: the step's duration at each size is given, and
// the tuner must settle on the faster size, keep re-trying the other one, and follow a change.
#include "kernels/thread_tuner.h"

#include <gtest/gtest.h>

namespace wiggle::kernels {
namespace {

// Runs `steps` steps of the tuner where a step takes `at_most` seconds on `most` threads and
// `at_one` on one; returns the fraction of the steps run on one thread.
double share_on_one(ThreadTuner& tuner, int most, double at_most, double at_one, int steps) {
    int on_one = 0;
    for (int i = 0; i < steps; ++i) {
        const int threads = tuner.next(most);
        EXPECT_TRUE(threads == 1 || threads == most) << threads;
        on_one += threads == 1;
        tuner.done(threads == 1 ? at_one : at_most);
    }
    return static_cast<double>(on_one) / steps;
}

TEST(ThreadTuner, SettlesOnTheFasterSizeAndKeepsTrying) {
    ThreadTuner tuner;
    // idle: the team of 2 takes 50 µs a step, one thread 73 µs. After the first trial the team
    // runs; the trials at one thread take a small share of the steps (about kTrial / kRun).
    const double idle = share_on_one(tuner, 2, 50e-6, 73e-6, 200'000);
    EXPECT_EQ(tuner.chosen(2), 2);
    EXPECT_GT(idle, 0.0);  // it does re-try
    EXPECT_LT(idle, 0.08);
    // loaded: the team now takes 120 µs (a member shares its core), one thread 70 µs: the next
    // trial switches to one thread, which then runs most of the steps.
    const double loaded = share_on_one(tuner, 2, 120e-6, 70e-6, 200'000);
    EXPECT_EQ(tuner.chosen(2), 1);
    EXPECT_GT(loaded, 0.85);
    // and back when the other program stops
    share_on_one(tuner, 2, 50e-6, 73e-6, 200'000);
    EXPECT_EQ(tuner.chosen(2), 2);
}

TEST(ThreadTuner, AHiccupInATrialCostsOnlyARecheck) {
    // idle (team 50 µs, one thread 73 µs), but one step of the first trial's team takes 30 ms (the
    // VM took the core away): that trial picks one thread. The recheck after kRecheck goes back
    // to the team, so in 1 s one thread runs three trials' and a recheck's worth of steps (~0.1
    // s), not a run's (kRun, 0.4 s).
    ThreadTuner tuner;
    int on_one = 0, steps = 0;
    double seconds = 0.0;
    bool hiccup = false, picked_one = false;
    while (seconds < 1.0) {
        const int threads = tuner.next(2);
        double d = threads == 1 ? 73e-6 : 50e-6;
        if (threads == 2 && steps == 100) {
            d = 30e-3;
            hiccup = true;
        }
        on_one += threads == 1;
        ++steps;
        seconds += d;
        tuner.done(d);
        picked_one = picked_one || tuner.chosen(2) == 1;
    }
    EXPECT_TRUE(hiccup);
    EXPECT_TRUE(picked_one);  // the hiccup did mislead the first trial
    EXPECT_EQ(tuner.chosen(2), 2);
    EXPECT_LT(on_one * 73e-6, 0.2) << on_one << " steps on one thread";
}

TEST(ThreadTuner, OneThreadIsOneThreadAndANewCountStartsOver) {
    ThreadTuner tuner;
    EXPECT_EQ(share_on_one(tuner, 1, 1e-4, 1e-4, 1000), 1.0);
    EXPECT_EQ(tuner.chosen(1), 1);
    EXPECT_EQ(tuner.chosen(4), 4);  // no trial at 4 yet: every thread
    EXPECT_EQ(tuner.next(4), 4);    // a trial starts at the team of every thread
}

}  // namespace
}  // namespace wiggle::kernels

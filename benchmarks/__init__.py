"""Speed and memory benchmarks (see README.md). A package so the tests import the floor and the profile
grouping as `benchmarks.numpy_floor` and `benchmarks.profile_step`; each file also runs as a script."""

# examples/xdist.sh  (run it: bash examples/xdist.sh)
# Each pytest-xdist worker is a process of its own, with its own stub for each test.
python -m pytest -q -n 4 -p xdist -p no:cacheprovider examples/test_readme.py examples/test_marker.py

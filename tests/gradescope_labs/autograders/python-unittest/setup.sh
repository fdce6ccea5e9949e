#!/usr/bin/env bash
# As Gradescope's own Python example does: the tools, then the test helpers from PyPI.
apt-get install -y python3 python3-pip
pip3 install gradescope-utils==0.5.0

#!/usr/bin/env bash
# A learner account for the part of the submission the autograder runs unprivileged.
useradd --create-home student

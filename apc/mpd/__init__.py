"""RecSys Challenge 2018 tooling: challenge sets, submissions, offline challenges and scoring."""

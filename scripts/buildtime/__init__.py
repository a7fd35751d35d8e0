"""Build-time tools: what `make train` and `make validate` assemble or check before Rasa runs
(the domain, the spaCy model, the validation log), and the import graph's drawing that
`make test` checks."""

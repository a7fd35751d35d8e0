"""NLU and out-of-domain evaluation: held-out scoring, the pipeline comparison, the seed study
(`make eval-nlu`), the Banking77 run (`make eval-ood`) and the corpora it reads."""

"""The benchmark (`make bench`) and the load measurements: ours against Rasa's starter bot,
where a message's time goes, handoffs under load."""

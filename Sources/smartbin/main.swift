print("smartbin")

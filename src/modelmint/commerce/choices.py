"""What commerce lets a user choose: the periods a budget can span. Nothing else is here,
so a command's help can name them without loading the business layer."""

PERIODS = ("day", "month", "total")

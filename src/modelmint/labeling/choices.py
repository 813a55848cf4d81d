"""What labeling lets a user choose, with its defaults: kinds of project, the languages of
the annotators' page, how many neighbours vote, where the zero-shot suggester finds its key.
Nothing else is here, so a command's help can name them without loading the stage."""

KINDS = ("classification", "multilabel", "rating", "correction", "preference")
LANGUAGES = ("en", "zh")  # of the annotators' page
DEFAULT_K = 10  # neighbours that vote on a suggestion
API_KEY_ENV = "MINT_API_KEY"  # the zero-shot suggester's key, unless given

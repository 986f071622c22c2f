# Corpus locations. Set VCC2016 to an extracted copy (holding
# vcc2016_training/ and evaluation_all/) to skip the download:
#     VCC2016=/path/to/vcc2016 ./run.sh
VCC2016=${VCC2016:-downloads/vcc2016}

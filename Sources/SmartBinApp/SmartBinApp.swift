// SmartBinApp module.

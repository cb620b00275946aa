using VehicleImages.Web;

// The app is composed in VehicleImagesApp so that tests start the very same app on a free port.
return await VehicleImagesApp.RunAsync(args);
